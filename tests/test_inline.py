"""Inline markup: the allowlist as a node tree, character references decoded once."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.inline import (
    Element,
    InlineError,
    Text,
    _InlineParser,
    _tree,
    parse_inline,
    tokenize,
)


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


# Character references: whole ones (with their ";") are decoded once; any other "&" is text.


@pytest.mark.parametrize(
    "source",
    ["R&D department", "S&P 500 falls", "Q&A.", "Shares of AT&T", "a&b", "a &notes b",
     "x &copy2026 y", "&foo; is no reference", "fish & chips", "&#x; &#; &", "AT&T"],
)  # fmt: skip
def test_an_ampersand_that_starts_no_whole_reference_is_text(source):
    assert parse_inline(source).text == source
    assert parse_inline(f"<em>{source}</em>").text == source


def test_whole_references_are_decoded_in_text_and_attributes():
    inline = parse_inline(
        '&amp;&lt;&eacute;&#233;&#xE9; <a href="https://x.org/?a=1&amp;b=2&c">l</a>'
    )
    assert inline.text == "&<ééé l"
    assert inline.nodes[-1].attr("href") == "https://x.org/?a=1&b=2&c"


@pytest.mark.parametrize(
    "source",
    [
        '<abbr title="a&#1;b">X</abbr>',
        '<abbr title="a&#x80;b">X</abbr>',
        '<abbr title="a&#xFFFE;b">X</abbr>',
        '<abbr title="a&#0;b">X</abbr>',
        '<abbr title="a&#x110000;b">X</abbr>',
        '<a href="https://e.example/a&#xD800;b">x</a>',
        '<a href="https://e.example/a&#x7f;b&#x85;">x</a>',
    ],
)
def test_a_reference_in_an_attribute_is_judged_as_in_text(source):
    """It was decoded by html.unescape, which mends what it is given: a control dropped,
    &#x80; read as the euro sign, a surrogate made U+FFFD, so a link went elsewhere than
    written, silently, where the same reference in text is refused."""
    with pytest.raises(InlineError, match="not allowed"):
        parse_inline(source)


def test_a_reference_to_an_allowed_character_in_an_attribute_is_that_character():
    inline = parse_inline('<abbr title="&#x41;&#233;&#x1F600;">X</abbr>')
    assert inline.nodes[0].attr("title") == "A\u00e9\U0001f600"


@pytest.mark.parametrize(
    "url",
    ["https://[::1]evil.example/", 'https://[::1]"/', "https://[::1]>x/", "https://[::1]x:8/"],
)
def test_nothing_but_a_port_follows_a_bracketed_host(url):
    """urlsplit reads "[::1]evil.example" as the host ::1; every output wrote the rest."""
    with pytest.raises(InlineError, match="more than a port after its bracketed host"):
        parse_inline(f'<a href="{html.escape(url)}">x</a>')


@pytest.mark.parametrize("url", ["https://[::1]/", "https://[2001:db8::1]:8443/a"])
def test_a_bracketed_address_with_a_port_is_a_host(url):
    assert parse_inline(f'<a href="{url}">x</a>').nodes[0].attr("href") == url


@pytest.mark.parametrize("source", ["&#91;^n]", "[&#94;n]", "[^&#110;]", "&#x5B;^n&#x5D;"])
def test_a_note_reference_is_only_one_written_as_such(source):
    """An escaped reference is the text "[^n]": it cannot slip past the budgets, which
    count the "[^" of the source."""
    inline = parse_inline(f"a {source} b", note_ids=frozenset({"n"}))
    assert inline.note_refs == ()
    assert inline.text == "a [^n] b"
    assert parse_inline("a [^n] b", note_ids=frozenset({"n"})).note_refs == ("n",)


_TEXT = st.text(st.sampled_from([*"ab &;#x1[^n]<>\"'/=", "\u00e9", "\U0001f600"]), max_size=30)


@settings(max_examples=500, deadline=None)
@given(text=_TEXT)
def test_any_text_written_escaped_reads_back_as_itself(text):
    """What an editor's HTML escaping writes is what a reader gets back, references and all
    (a "[" written as &#91; so that no "[^" reads as a note reference)."""
    for written in (html.escape(text), html.escape(text, quote=False)):
        written = written.replace("[", "&#91;")
        assert parse_inline(written, allow_note_refs=False).text == text


@pytest.mark.parametrize(
    ("source", "plain"),
    [
        ("Costs rose 10<sup>6</sup> times", "Costs rose 10⁶ times"),
        ("A 40 m<sup>2</sup> flat, 10<sup>−3</sup> g", "A 40 m² flat, 10⁻³ g"),
        ("CO<sub>2</sub> and H<sub>2</sub>O", "CO₂ and H₂O"),
        # Letters with no superscript form stay as they are: an ordinal reads well flat.
        ("the 1<sup>er</sup> arrondissement", "the 1er arrondissement"),
        ("the 21<sup>st</sup> century", "the 21st century"),
        # Figures without Unicode forms are raised by a mark, never flattened into the base:
        # "10-6.5" would read as 3.5.
        ("x<sup>2a</sup>", "x^(2a)"),
        ("Risk fell to 10<sup>-6.5</sup> a year", "Risk fell to 10^(-6.5) a year"),
        ("2<sup>n/2</sup>; x<sub>i+1</sub>", "2^(n/2); x_(i+1)"),
        ("She said <q>no</q>.", "She said “no”."),
        # Isolated as on the page: the list, the digest's teasers, feeds and subjects
        # showed ": 3" on the wrong side of the Arabic name.
        ("Party <bdi>حزب الأمة</bdi>: 3 seats", "Party \u2068حزب الأمة\u2069: 3 seats"),
        ('<span dir="rtl">مرحبا</span> 3', "\u2067مرحبا\u2069 3"),
        ('<span lang="fr">oui</span>', "oui"),
        ("<q>a <sup>2</sup></q>", "“a ²”"),
        # Struck out, as the text twin writes it: "$10 $8" read as two prices.
        ("Price <s>$10</s> $8", "Price ~~$10~~ $8"),
    ],
)
def test_plain_words_keep_quotes_and_raised_figures(source, plain):
    """10<sup>6</sup> flattened to "106" in titles, subjects, feeds and plain text."""
    inline = parse_inline(source)
    assert inline.plain_in("en") == plain
    assert inline.text == html.unescape(re.sub(r"<[^>]+>", "", source))  # the words alone


@pytest.mark.parametrize(
    ("url", "written"),
    [
        ("https://fonts.example.org/css?family=A|B", "https://fonts.example.org/css?family=A%7CB"),
        ("https://e.org/list?f[c]=red", "https://e.org/list?f%5Bc%5D=red"),
        ("https://e.org/a%zz%41%", "https://e.org/a%25zz%41%25"),
        ("https://e.org/a#b#c", "https://e.org/a#b%23c"),
        ("https://[::1]:8080/x[1]", "https://[::1]:8080/x%5B1%5D"),  # the host keeps its []
        ("https://e.org/{x}^`", "https://e.org/%7Bx%7D%5E%60"),
        ("mailto:desk@e.org?subject=a|b", "mailto:desk@e.org?subject=a%7Cb"),
        ("https://e.org/plain?q=1&r=2#top", "https://e.org/plain?q=1&r=2#top"),
    ],
)
def test_a_link_is_written_as_an_href_carries_it(url, written):
    from service.inline import LINK_SCHEMES, link_problem, written_url

    assert link_problem(url, LINK_SCHEMES) is None
    assert written_url(url) == written
    assert written_url(written) == written  # once written, it stays as it is


@pytest.mark.parametrize(
    ("language", "plain"),
    [
        ("en", "“a ‘b’ c” „d“"),
        ("fr", "«a «b» c» „d“"),
        ("de", "„a ‚b‘ c“ „d“"),
        ("ja", "「a 『b』 c」 „d“"),
        ("zh-Hant", "「a 『b』 c」 „d“"),
        ("arz", "”a ’b‘ c“ „d“"),  # Egyptian Arabic quotes as Arabic does
    ],
)
def test_plain_words_quote_in_the_language_of_the_quotation(language, plain):
    """Titles, subjects and feeds put every <q> in English marks; the PDF prints the
    language's (CLDR's, WeasyPrint's table), inner ones within a quotation, and a phrase's
    own language's within a <span lang>."""
    inline = parse_inline('<q>a <q>b</q> c</q> <span lang="de"><q>d</q></span>')
    assert inline.plain_in(language) == plain
