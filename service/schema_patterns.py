"""The article contract as regular expressions, for the published JSON Schema.

Built from the same allowlists and patterns the validator uses, so the schema refuses what
the server refuses wherever a regular expression can say it. The syntax is the common
ground of ECMAScript (what JSON Schema specifies) and Python's `re` (what Python validators
run): `(?![\\s\\S])` ends a string, because `$` in Python also matches before a final newline.
"""

from __future__ import annotations

from .inline import ALLOWED_ATTRIBUTES, LINK_SCHEMES, NOTE_ID, VOID_ELEMENTS
from .language import TAG_SYNTAX

END = r"(?![\s\S])"
NOT_BLANK = r"(?=[\s\S]*\S)"
# Characters no text may carry (characters.forbidden_character), lone surrogates and the
# noncharacters past U+FFFF aside: an ECMAScript pattern sees UTF-16 code units, where a
# range of surrogates would refuse every emoji.
FORBIDDEN = r"\x00-\x08\x0b-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff"
# Not a private-use (x-…) or irregular grandfathered (i-…) tag: language.py refuses them.
LANGUAGE_TAG = "(?![xXiI]-)" + TAG_SYNTAX.pattern
# The character rules of characters.py as a pattern can say them (bidi balance it cannot).
CONTROLS_IN_ONE_LINE = "[\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]"
CONTROLS_IN_LINES = "[\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f]"
# A host of labels none of which is empty or longer than 63, holding none of the characters
# the URL standard forbids in a host; no backslash anywhere (a browser reads it as /).
_LABEL = r"""[^\s"'<>/?#@\\.%|^:]{1,63}"""  # a plain " : ECMAScript's u flag has no \"
# A port, when there is one, is a number up to 65535 (leading zeros and all), or empty.
_PORT = (
    r"(?::0*(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})?)?"
)
_HOST = rf"(?:{_LABEL}(?:\.{_LABEL})*\.?|\[[0-9A-Fa-f:.]+\]){_PORT}"
_PATH = r"""(?:[/?#][^\s"'<>\\]*)?"""


def any_case(word: str) -> str:
    """`word` matched without regard to case, as HTML names and URL schemes are."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)


def whole(pattern: str) -> str:
    return f"^(?:{pattern}){END}"


def url(schemes: frozenset[str]) -> str:
    """An absolute URL with one of `schemes`: a host and no user name (inline.link_problem)."""
    choices = []
    web = sorted(s for s in schemes if s != "mailto")
    if web:
        names = "|".join(any_case(s) for s in web)
        choices.append(f"(?:{names})://{_HOST}{_PATH}")
    if "mailto" in schemes:
        choices.append(f"{any_case('mailto')}:[^\\s\"'<>@]+@[^\\s\"'<>]*")
    return "(?:" + "|".join(choices) + ")"


def _attribute_value(name: str) -> str:
    if name == "href":
        value = url(LINK_SCHEMES)
        return f"(?:\"{value}\"|'{value}'|{value})"
    if name == "lang":
        value = LANGUAGE_TAG
        return f"(?:\"{value}\"|'{value}'|{value})"
    if name == "dir":
        return "(?:\"(?:ltr|rtl|auto)\"|'(?:ltr|rtl|auto)'|(?:ltr|rtl|auto))"
    # title: any words, not only white space
    return "(?:\"[^\"]*\\S[^\"]*\"|'[^']*\\S[^']*'|[^\\s\"'=<>`]+)"


def _attribute(name: str) -> str:
    return f"\\s+{any_case(name)}\\s*=\\s*{_attribute_value(name)}"


def _tags(allow_line_breaks: bool) -> list[str]:
    tags = []
    for name, attributes in ALLOWED_ATTRIBUTES.items():
        if name in VOID_ELEMENTS:
            if allow_line_breaks or name != "br":
                tags.append(f"<{any_case(name)}\\s*/?>")
            continue
        if name == "a":  # a link needs its href (inline._check_attributes)
            opening = f"<{any_case(name)}{_attribute('href')}\\s*>"
        elif attributes:
            choices = "|".join(_attribute(a) for a in sorted(attributes))
            opening = f"<{any_case(name)}(?:{choices})*\\s*>"
        else:
            opening = f"<{any_case(name)}\\s*>"
        tags += [opening, f"</{any_case(name)}\\s*>"]
    return tags


def inline_text(allow_note_refs: bool, allow_line_breaks: bool) -> str:
    """Inline markup of the allowlist; nesting, note ids, bidi balance are beyond a pattern."""
    breaks = "" if allow_line_breaks else r"\t\n\u2028\u2029"  # characters.line_break_problem
    parts = [
        f"[^<\\[{FORBIDDEN}{breaks}]",
        r"<(?![A-Za-z/!?])",  # a < that starts no tag is text (inline._UNFINISHED_TAG)
        # A [ that starts no note reference is text; a reference lies within one text run,
        # as written: a whole character reference (&amp;) inside ends the run (inline.py).
        r"\[(?!\^(?:[^\]<&]|&(?!" + _WHOLE_REFERENCE + r")|<(?![A-Za-z/!?]))*\])",
        *_tags(allow_line_breaks),
    ]
    if allow_note_refs:
        parts.append(f"\\[\\^{NOTE_ID.pattern}\\]")
    return f"^{NOT_BLANK}(?:" + "|".join(parts) + f")*{END}"


# A whole character reference, as inline._REFERENCE reads one.
_WHOLE_REFERENCE = r"(?:#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]{0,31});"


def plain_text() -> str:
    return f"^{NOT_BLANK}[^{FORBIDDEN}]*{END}"


def spaced_text() -> str:
    """Text whose runs of white space become one space before it is checked (a sign-up's
    name, subscriptions._shown_name): the controls Python takes for white space pass."""
    forbidden = r"\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\ufdd0-\ufdef\ufffe\uffff"
    return f"^[^{forbidden}]*{END}"


def free_text() -> str:
    """Text that may be blank (alt text: empty for a decorative image), of allowed characters."""
    return f"^[^{FORBIDDEN}]*{END}"


def embedded_image(media_type: str) -> str:
    """A base64 data: URI of `media_type` (article._validate_data_uri)."""
    base64 = r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"
    return whole(f"data:{any_case(media_type)};{any_case('base64')},{base64}")
