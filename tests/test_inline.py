"""Inline markup: the allowlist as a node tree, character references decoded once."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from service.inline import Element, Text, _InlineParser, _tree, parse_inline, tokenize


def test_inline_tree_keeps_allowed_markup_and_refs():
    inline = parse_inline('a <span lang="fr">b</span> [^n] &amp; <br>c', note_ids=frozenset({"n"}))
    assert inline.note_refs == ("n",)
    assert inline.text == "a b  & \nc"


def test_character_references_are_decoded_once():
    assert parse_inline("&lt;script&gt; &eacute;").text == "<script> é"


# Plain text (no "<", no "&") skips the tokenizer, and without "[^" the parser too; the
# tree and the problems must be those the tokenizer gives. The alphabet leans on what the
# parser itself treats specially.
_PLAIN = st.text(
    st.sampled_from([*"ab ^[]-_\n\t>\"'=/!?;#x9", "\u202e", "\u202c", "\x00", "é", "😀"]),
    max_size=40,
)


@settings(max_examples=500, deadline=None)
@given(source=_PLAIN, refs=st.booleans(), breaks=st.booleans())
def test_plain_text_skips_the_tokenizer_with_the_same_result(source, refs, breaks):
    note_ids = frozenset({"a", "b-1"})
    through_tokenizer = _InlineParser(note_ids, refs, breaks)
    through_tokenizer.feed(source)
    through_tokenizer.close()
    expected = (through_tokenizer.finish(), through_tokenizer.root_children())
    direct = _InlineParser(note_ids, refs, breaks)
    tokenize(direct, source)
    assert (direct.finish(), direct.root_children()) == expected
    nodes, problems = _tree(source, note_ids, refs, breaks)
    assert (problems, nodes) == expected


def test_text_with_markup_still_goes_through_the_tokenizer():
    parser = _InlineParser(None, True, True)
    tokenize(parser, "a <em>b</em> &amp; c")
    assert parser.finish() == []
    assert parser.root_children() == (
        Text("a "),
        Element("em", (), (Text("b"),)),
        Text(" & c"),
    )
