"""The length of a label in Punycode, held to the standard library's codec."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from service.punycode import encoded_length

# Host labels: ASCII letters, digits and hyphens beside letters of any script (no surrogates,
# which no label holds and the codec cannot write).
_LABEL_CHARACTERS = st.characters(blacklist_categories=("Cs",), min_codepoint=0x21)


@settings(max_examples=3000, deadline=None)
@given(label=st.text(_LABEL_CHARACTERS, min_size=1, max_size=80))
def test_the_length_is_the_codec_s(label):
    assert encoded_length(label) == len(label.encode("punycode"))


def test_known_labels():
    # RFC 3492's sample (Arabic, "Egyptian"), bücher, and one character in each plane.
    arabic = (
        "\u0644\u064a\u0647\u0645\u0627\u0628\u062a\u0643\u0644\u0645\u0648\u0634"
        "\u0639\u0631\u0628\u064a\u061f"
    )
    assert encoded_length(arabic) == len("egbpdaj6bu4bxfgehfvwxn")
    assert encoded_length("bücher") == len("bcher-kva")
    for character in ("é", "中", "\U0001f600", "\U0010fffd"):
        assert encoded_length(character) == len(character.encode("punycode"))
