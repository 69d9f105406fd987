"""The article contract: dozens of ways to break it, each answered 422 with a pointer."""

from __future__ import annotations

import pytest

from service.errors import BadArticle
from service.validation import validate_article

from .corpus import PNG, every_block, minimal


def _with_block(block):
    return minimal(body=[block])


def _set(path, value):
    article = every_block()
    target = article
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return article


def _drop(key):
    article = every_block()
    del article[key]
    return article


BAD = {
    # ids and kinds
    "id-uppercase": (minimal(id="Hello"), "/id"),
    "id-leading-dash": (minimal(id="-a"), "/id"),
    "id-too-long": (minimal(id="a" * 121), "/id"),
    "id-number": (minimal(id=7), "/id"),
    "kind-unknown": (minimal(kind="opinion"), "/kind"),
    "missing-id": (_drop("id"), "/id"),
    "missing-headline": (_drop("headline"), "/headline"),
    "missing-published": (_drop("published_at"), "/published_at"),
    "missing-body": (_drop("body"), "/body"),
    "unknown-field": (minimal(colour="red"), "/colour"),
    # headline
    "headline-too-long": (minimal(headline="x" * 301), "/headline"),
    "headline-line-break": (minimal(headline="One\nTwo"), "/headline"),
    "headline-br": (minimal(headline="One<br>Two"), "/headline"),
    "headline-note-ref": (_set(["headline"], "Head [^first]"), "/headline"),
    "headline-empty": (minimal(headline="  "), "/headline"),
    "standfirst-note-ref": (_set(["standfirst"], "Sum [^first]"), "/standfirst"),
    # dates
    "date-no-offset": (minimal(published_at="2026-03-12T08:00:00"), "/published_at"),
    "date-only": (minimal(published_at="2026-03-12"), "/published_at"),
    "date-impossible": (minimal(published_at="2026-02-30T08:00:00Z"), "/published_at"),
    "date-number": (minimal(published_at=1773302400), "/published_at"),
    "updated-before-published": (minimal(updated_at="2026-03-11T08:00:00Z"), "/updated_at"),
    # language
    "language-invalid": (minimal(language="english"), "/language"),
    "language-unregistered": (minimal(language="zz"), "/language"),
    "span-lang-invalid": (
        _with_block({"type": "paragraph", "text": '<span lang="x_y">a</span>'}),
        "/body/0/text",
    ),
    "span-dir-invalid": (
        _with_block({"type": "paragraph", "text": '<span dir="up">a</span>'}),
        "/body/0/text",
    ),
    "quote-lang-invalid": (
        _with_block({"type": "quote", "text": "a", "lang": "??"}),
        "/body/0/lang",
    ),
    # urls and schemes
    "canonical-ftp": (minimal(canonical_url="ftp://example.org/a"), "/canonical_url"),
    "canonical-relative": (minimal(canonical_url="/a/b"), "/canonical_url"),
    "author-url-js": (minimal(authors=[{"name": "A", "url": "javascript:x"}]), "/authors/0/url"),
    "link-javascript": (
        _with_block({"type": "paragraph", "text": '<a href="javascript:x">a</a>'}),
        "/body/0/text",
    ),
    "link-data": (
        _with_block({"type": "paragraph", "text": '<a href="data:text/html,x">a</a>'}),
        "/body/0/text",
    ),
    "link-relative": (
        _with_block({"type": "paragraph", "text": '<a href="/x">a</a>'}),
        "/body/0/text",
    ),
    # A browser reads a backslash as "/": https://example.org\@evil.example goes to example.org
    "link-backslash": (
        _with_block(
            {"type": "paragraph", "text": '<a href="https://example.org\\@evil.example">a</a>'}
        ),
        "/body/0/text",
    ),
    "note-url-empty-label": (
        minimal(notes=[{"id": "n", "text": "A note.", "url": "https://example..org/a"}]),
        "/notes/0/url",
    ),
    # Hosts no URL parser reads as written: the Nu checker refused the pages and mails.
    "canonical-host-pipe": (
        minimal(canonical_url="https://news|paper.example/a"),
        "/canonical_url",
    ),
    "author-url-ipv4-range": (
        minimal(authors=[{"name": "A", "url": "https://1.2.3.256/a"}]),
        "/authors/0/url",
    ),
    "link-host-bad-punycode": (
        _with_block({"type": "paragraph", "text": '<a href="https://xn--zz.example/">a</a>'}),
        "/body/0/text",
    ),
    "image-host-caret": (
        _with_block({"type": "image", "src": "https://img^cdn.example/a.png", "alt": "A"}),
        "/body/0/src",
    ),
    "note-url-long-label": (
        minimal(notes=[{"id": "n", "text": "A note.", "url": f"https://{'a' * 64}.example/"}]),
        "/notes/0/url",
    ),
    "link-host-zone": (
        _with_block({"type": "paragraph", "text": '<a href="https://[fe80::1%25eth0]/">a</a>'}),
        "/body/0/text",
    ),
    "link-host-full-width-ipv4": (
        _with_block({"type": "paragraph", "text": '<a href="https://１２７.０.０.１.５/">a</a>'}),
        "/body/0/text",
    ),
    "link-host-a-label-mark-first": (
        _with_block({"type": "paragraph", "text": '<a href="https://xn--a-bga02n.com/">a</a>'}),
        "/body/0/text",
    ),
    "link-host-ipv4-root-dot": (
        _with_block({"type": "paragraph", "text": '<a href="https://192.0.2.1./">a</a>'}),
        "/body/0/text",
    ),
    "link-host-hex-ipv4": (
        _with_block({"type": "paragraph", "text": '<a href="https://0x7f.1/">a</a>'}),
        "/body/0/text",
    ),
    # Private-use and irregular grandfathered tags name no language: axe refused them.
    "language-private-use": (minimal(language="x-klingon"), "/language"),
    "span-lang-grandfathered": (
        _with_block({"type": "paragraph", "text": '<span lang="i-klingon">Qapla\'</span>'}),
        "/body/0/text",
    ),
    "link-credentials": (
        _with_block({"type": "paragraph", "text": '<a href="https://u:p@example.org">a</a>'}),
        "/body/0/text",
    ),
    "link-without-href": (_with_block({"type": "paragraph", "text": "<a>a</a>"}), "/body/0/text"),
    "link-in-link": (
        _with_block(
            {
                "type": "paragraph",
                "text": '<a href="https://a.org">x <a href="https://b.org">y</a></a>',
            }
        ),
        "/body/0/text",
    ),
    "note-url-mailto": (_set(["notes", 0, "url"], "mailto:a@example.org"), "/notes/0/url"),
    # markup
    "markup-script": (
        _with_block({"type": "paragraph", "text": "<script>x</script>"}),
        "/body/0/text",
    ),
    "markup-img": (
        _with_block({"type": "paragraph", "text": '<img src="x" alt="y">'}),
        "/body/0/text",
    ),
    "markup-style-attr": (
        _with_block({"type": "paragraph", "text": '<em style="x">a</em>'}),
        "/body/0/text",
    ),
    "markup-onclick": (
        _with_block({"type": "paragraph", "text": '<b onclick="x">a</b>'}),
        "/body/0/text",
    ),
    "markup-unclosed": (_with_block({"type": "paragraph", "text": "<em>a"}), "/body/0/text"),
    "markup-misnested": (
        _with_block({"type": "paragraph", "text": "<em><b>a</em></b>"}),
        "/body/0/text",
    ),
    "markup-too-deep": (
        _with_block({"type": "paragraph", "text": "<b>" * 2400 + "x" + "</b>" * 2400}),
        "/body/0/text",
    ),
    "markup-comment": (_with_block({"type": "paragraph", "text": "a <!-- b -->"}), "/body/0/text"),
    "markup-unfinished": (_with_block({"type": "paragraph", "text": "a <em"}), "/body/0/text"),
    "markup-self-closing": (_with_block({"type": "paragraph", "text": "a <em/>"}), "/body/0/text"),
    "markup-control-char": (_with_block({"type": "paragraph", "text": "a\u0007b"}), "/body/0/text"),
    "markup-lone-surrogate": (
        _with_block({"type": "paragraph", "text": "a\ud800b"}),
        "/body/0/text",
    ),
    "markup-duplicate-attr": (
        _with_block({"type": "paragraph", "text": '<abbr title="a" title="b">x</abbr>'}),
        "/body/0/text",
    ),
    # notes
    "note-unknown": (_with_block({"type": "paragraph", "text": "x [^nope]"}), "/body/0/text"),
    "note-malformed-ref": (_with_block({"type": "paragraph", "text": "x [^a b]"}), "/body/0/text"),
    "note-in-link": (
        _set(["body", 0, "text"], '<a href="https://x.org">a [^first]</a>'),
        "/body/0/text",
    ),
    "note-duplicate-id": (_set(["notes", 1, "id"], "first"), "/notes/1/id"),
    "note-bad-id": (_set(["notes", 3, "id"], "has space"), "/notes/3/id"),
    "note-ref-in-note": (_set(["notes", 3, "text"], "see [^first]"), "/notes/3/text"),
    "note-numbering-unknown": (minimal(note_numbering="upper-roman"), "/note_numbering"),
    # blocks
    "body-empty": (minimal(body=[]), "/body"),
    "body-not-list": (minimal(body={"type": "paragraph"}), "/body"),
    "block-unknown-type": (_with_block({"type": "video", "src": "x"}), "/body/0/type"),
    "block-missing-type": (_with_block({"text": "x"}), "/body/0/type"),
    "block-not-object": (minimal(body=["text"]), "/body/0"),
    "paragraph-missing-text": (_with_block({"type": "paragraph"}), "/body/0/text"),
    "paragraph-extra-field": (_with_block({"type": "paragraph", "text": "a", "x": 1}), "/body/0/x"),
    "heading-level-1": (_with_block({"type": "heading", "level": 1, "text": "a"}), "/body/0/level"),
    "heading-level-string": (
        _with_block({"type": "heading", "level": "2", "text": "a"}),
        "/body/0/level",
    ),
    "heading-skips-level": (
        _with_block({"type": "heading", "level": 3, "text": "a"}),
        "/body/0/level",
    ),
    "list-empty": (
        _with_block({"type": "list", "style": "bulleted", "items": []}),
        "/body/0/items",
    ),
    "list-style-unknown": (
        _with_block({"type": "list", "style": "roman", "items": ["a"]}),
        "/body/0/style",
    ),
    "list-item-markup": (
        _with_block({"type": "list", "style": "bulleted", "items": ["a", "<iframe></iframe>"]}),
        "/body/0/items/1",
    ),
    "table-no-caption": (
        _with_block({"type": "table", "header": ["a"], "rows": [["b"]]}),
        "/body/0/caption",
    ),
    "table-ragged-row": (
        _with_block(
            {"type": "table", "caption": "c", "header": ["a", "b"], "rows": [["1", "2"], ["3"]]}
        ),
        "/body/0/rows/1",
    ),
    "table-cell-number": (
        _with_block({"type": "table", "caption": "c", "header": ["a"], "rows": [[1]]}),
        "/body/0/rows/0/0",
    ),
    # images
    "image-missing-alt": (_with_block({"type": "image", "src": PNG}), "/body/0/alt"),
    "image-blank-alt": (_with_block({"type": "image", "src": PNG, "alt": "  "}), "/body/0/alt"),
    "image-decorative-with-alt": (
        _with_block({"type": "image", "src": PNG, "alt": "x", "decorative": True}),
        "/body/0/alt",
    ),
    "image-decorative-caption": (
        _with_block({"type": "image", "src": PNG, "decorative": True, "caption": "c"}),
        "/body/0/caption",
    ),
    "image-http": (
        _with_block({"type": "image", "src": "http://example.org/a.png", "alt": "a"}),
        "/body/0/src",
    ),
    "image-file": (
        _with_block({"type": "image", "src": "file:///etc/passwd", "alt": "a"}),
        "/body/0/src",
    ),
    "image-svg-data": (
        _with_block({"type": "image", "src": "data:image/svg+xml;base64,PHN2Zz4=", "alt": "a"}),
        "/body/0/src",
    ),
    "image-data-not-base64": (
        _with_block({"type": "image", "src": "data:image/png,abc", "alt": "a"}),
        "/body/0/src",
    ),
    "image-data-lies": (
        _with_block({"type": "image", "src": "data:image/png;base64,R0lGODlh", "alt": "a"}),
        "/body/0/src",
    ),
    "image-data-garbage": (
        _with_block({"type": "image", "src": "data:image/png;base64,!!!!", "alt": "a"}),
        "/body/0/src",
    ),
    "image-width-zero": (
        _with_block({"type": "image", "src": PNG, "alt": "a", "width": 0}),
        "/body/0/width",
    ),
    "image-width-float": (
        _with_block({"type": "image", "src": PNG, "alt": "a", "width": 1.5}),
        "/body/0/width",
    ),
    "image-decorative-string": (
        _with_block({"type": "image", "src": PNG, "alt": "a", "decorative": "no"}),
        "/body/0/decorative",
    ),
    # sizes and nesting
    "tags-not-strings": (minimal(tags=[1, 2]), "/tags/0"),
    "too-many-tags": (minimal(tags=[f"t{n}" for n in range(51)]), "/tags"),
    "deep-nesting": (
        minimal(publisher={"name": "p", "x": [[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}),
        "/publisher/x/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0",
    ),
    "not-an-object": ([1, 2], ""),
}


@pytest.mark.parametrize(("case", "pointer"), [(k, v[1]) for k, v in BAD.items()], ids=list(BAD))
def test_contract_violations_are_422_with_pointer(post_json, case, pointer):
    response = post_json("/v1/render/html", BAD[case][0])
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    pointers = [e["pointer"] for e in response.get_json()["errors"]]
    assert pointer in pointers


def test_a_message_that_opens_with_an_acronym_keeps_its_capitals(post_json):
    article = minimal(headline="a <!-- b -->", body=[{"type": "paragraph", "text": "c <!-- d -->"}])
    errors = post_json("/v1/render/html", article).get_json()["errors"]
    assert errors == [
        {"pointer": pointer, "message": "HTML comments are not allowed"}
        for pointer in ("/headline", "/body/0/text")
    ]


def test_all_problems_are_reported_together(post_json):
    article = minimal(
        id="BAD",
        language="??",
        body=[
            {"type": "paragraph", "text": "<script>"},
            {"type": "image", "src": PNG},
            {"type": "table", "caption": "c", "header": ["a"], "rows": [["1", "2"]]},
        ],
    )
    pointers = {e["pointer"] for e in post_json("/v1/render/html", article).get_json()["errors"]}
    assert pointers == {"/id", "/language", "/body/0/text", "/body/1/alt", "/body/2/rows/0"}


def test_every_block_example_is_valid():
    article = validate_article(every_block())
    assert [b.type for b in article.body][:3] == ["paragraph", "heading", "heading"]


def test_validation_leaves_its_input_untouched():
    data = every_block()
    article = validate_article(data)
    assert data == every_block()  # the very dict validated, against a fresh one
    assert article.id == data["id"]


def test_a_key_that_holds_a_lone_surrogate_makes_the_body_unreadable():
    from service.errors import UnreadableBody
    from service.validation import parse_json

    for raw in (
        b'{"\\ud800": 1, "headline": "x"}',
        b'{"body": [{"type": "paragraph", "\\udc00": 1}]}',
    ):
        with pytest.raises(UnreadableBody) as refused:
            parse_json(raw)
        assert "holds a lone surrogate, which is not text" in refused.value.detail


def test_a_lone_surrogate_in_a_choice_is_named_as_such():
    with pytest.raises(BadArticle) as refused:
        validate_article(minimal(kind="\ud800", headline=None))
    assert [(e.pointer, e.message) for e in refused.value.errors] == [
        ("/kind", "holds a lone surrogate (a half of a UTF-16 pair), which is not text"),
        ("/headline", "must be a string"),
    ]


@pytest.mark.parametrize(("width", "accepted"), [(1600.0, True), (1600.5, False), (True, False)])
def test_a_whole_number_written_with_a_fraction_is_the_number(post_json, width, accepted):
    """The published schema says "integer", which JSON Schema lets 1600.0 match."""
    image = {"type": "image", "src": PNG, "alt": "A map", "width": width, "height": 800}
    response = post_json("/v1/render/html", minimal(body=[image]))
    if accepted:
        assert response.status_code == 200
        assert b'width="1600"' in response.data
    else:
        assert response.status_code == 422
        assert [e["pointer"] for e in response.get_json()["errors"]] == ["/body/0/width"]


@pytest.mark.parametrize(
    ("article", "pointer"),
    [
        (minimal(headline="<em></em>"), "/headline"),
        (minimal(headline="\u200b"), "/headline"),
        (minimal(headline="\u3164"), "/headline"),
        (minimal(body=[{"type": "heading", "level": 2, "text": "&nbsp;"}]), "/body/0/text"),
        (minimal(body=[{"type": "heading", "level": 2, "text": "<b></b>"}]), "/body/0/text"),
        (
            minimal(body=[{"type": "image", "src": "https://example.org/a.png", "alt": "\u200b"}]),
            "/body/0/alt",
        ),
        (
            minimal(body=[{"type": "image", "src": "https://example.org/a.png", "alt": "\u00ad"}]),
            "/body/0/alt",
        ),
        (
            minimal(
                body=[
                    {
                        "type": "table",
                        "caption": "Costs",
                        "header": ["<em></em>", "B"],
                        "rows": [["1", "2"]],
                    }
                ]
            ),
            "/body/0/header/0",
        ),
        (  # decorative: its alt must be empty as the schema says (^\s*$), and as read back
            minimal(
                body=[
                    {
                        "type": "image",
                        "src": "https://example.org/a.png",
                        "decorative": True,
                        "alt": "\u200b",
                    }
                ]
            ),
            "/body/0/alt",
        ),
        (minimal(headline="\u2065\ufff0\U000e0000\U000e01f0"), "/headline"),
        *(
            (
                minimal(
                    body=[{"type": "paragraph", "text": f'Go <a href="https://a.org/">{x}</a>'}]
                ),
                "/body/0/text",
            )
            for x in ("", " ", "<em></em>", "<br>", "&#8203;", "\u2060")
        ),
    ],
)
def test_text_that_shows_nothing_counts_as_empty(article, pointer):
    """axe found empty headings, cells, titles and links, and alt text of a zero-width space."""
    with pytest.raises(BadArticle) as refused:
        validate_article(article)
    assert pointer in [error.pointer for error in refused.value.errors]


def test_visible_text_in_any_script_is_not_empty():
    from service.characters import is_blank

    for text in ("a", "é", "日本", "ا", "\u0301a", "·", "—", "😀", "x\u200b"):
        assert not is_blank(text), text
    for text in (
        "",
        " \t\n",
        "\u00a0\u2003",
        "\u200b\u200c\u200d\u2060\ufeff\u00ad",
        "\u034f",
        "\u2065\ufff0\U000e0000\U000e0fff",  # default-ignorable, not yet assigned
    ):
        assert is_blank(text), text


@pytest.mark.parametrize("tag", ["i-default", "x-klingon"])
def test_a_private_use_language_tag_is_refused_for_what_it_is(tag):
    """They are well-formed BCP 47; the refusal said they were not."""
    from service.errors import BadArticle

    with pytest.raises(BadArticle) as refused:
        validate_article(minimal(language=tag))
    (error,) = refused.value.errors
    assert error.pointer == "/language"
    assert "private-use or irregular" in error.message
    assert "not a valid" not in error.message
