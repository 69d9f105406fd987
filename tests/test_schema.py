"""The published JSON Schema: it refuses what the server refuses, wherever a schema can say it."""

from __future__ import annotations

import json

import jsonschema
import pytest

from .corpus import bad_examples, corpus, minimal
from .test_validation import BAD

# Rules of the contract a JSON Schema cannot express; each named case of the error corpus
# or examples/bad/ that breaks one of these, and only those, passes the schema.
SCHEMA_CANNOT_EXPRESS = {
    "updated-before-published": "compares two fields",
    "heading-skips-level": "compares a block with the ones before it",
    "table-ragged-row": "compares a row's length with the header's",
    "note-duplicate-id": "uniqueness of one property across array items",
    "note-unknown": "a note reference must name a note defined elsewhere",
    "unknown-note": "a note reference must name a note defined elsewhere (examples/bad/)",
    "date-impossible": "calendar arithmetic (30 February)",
    "language-invalid": "the IANA language subtag registry",
    "language-unregistered": "the IANA language subtag registry",
    "image-data-lies": "the bytes inside a data: URI",
    "markup-lone-surrogate": "schema patterns see UTF-16 code units",
    "markup-unclosed": "how inline elements nest",
    "markup-misnested": "how inline elements nest",
    "markup-too-deep": "how inline elements nest",
    "link-in-link": "how inline elements nest",
    "note-in-link": "how inline elements nest",
    "markup-duplicate-attr": "an attribute given twice",
    "author-url-ipv4-range": "the range of each number of an IPv4 address",
    "link-host-hex-ipv4": "how the URL standard reads a host that ends in a number",
    "link-host-full-width-ipv4": "how the URL standard reads a host that ends in a number",
    "link-host-ipv4-root-dot": "how the URL standard reads a host that ends in a number",
    "link-host-a-label-mark-first": "Punycode decoding (IDNA)",
    "link-host-bad-punycode": "Punycode decoding (IDNA)",
}


@pytest.fixture(scope="module")
def validator(app_schema):
    return jsonschema.Draft202012Validator(app_schema)


@pytest.fixture(scope="module")
def app_schema():
    from service import create_app

    client = create_app({"TESTING": True, "DATABASE_URL": "sqlite://"}).test_client()
    response = client.get("/v1/schema/article.json")
    assert response.mimetype == "application/schema+json"
    return response.get_json()


def test_schema_is_published(app_schema):
    assert set(app_schema["required"]) == {"id", "headline", "published_at", "body"}
    assert app_schema["additionalProperties"] is False
    assert app_schema["properties"]["id"]["pattern"] == "^(?:[a-z0-9][a-z0-9-]{0,119})(?![\\s\\S])"
    jsonschema.Draft202012Validator.check_schema(app_schema)


@pytest.mark.parametrize("name", corpus())
def test_schema_accepts_every_good_article(validator, name):
    assert list(validator.iter_errors(corpus()[name])) == []


@pytest.mark.parametrize("name", list(BAD))
def test_schema_refuses_what_the_server_refuses(validator, name, post_json):
    article, _ = BAD[name]
    assert post_json("/v1/render/html", article).status_code == 422
    if name in SCHEMA_CANNOT_EXPRESS:
        assert validator.is_valid(article), (
            f"the schema now expresses {name}: drop it from the list"
        )
    else:
        assert not validator.is_valid(article)


@pytest.mark.parametrize("name", list(bad_examples()))
def test_schema_refuses_the_bad_examples(validator, name):
    article = json.loads(bad_examples()[name])
    assert validator.is_valid(article) is (name in SCHEMA_CANNOT_EXPRESS)


@pytest.mark.parametrize(
    "image",
    [
        {"type": "image", "src": "https://example.org/a.png"},
        {"type": "image", "src": "https://example.org/a.png", "alt": None},
        {"type": "image", "src": "https://example.org/a.png", "alt": " "},
        {"type": "image", "src": "https://example.org/a.png", "decorative": False},
        {"type": "image", "src": "https://example.org/a.png", "alt": "x", "decorative": True},
        {"type": "image", "src": "https://example.org/a.png", "decorative": True, "caption": "c"},
    ],
)
def test_alt_is_required_unless_decorative(validator, post_json, image):
    article = minimal(body=[image])
    assert post_json("/v1/render/html", article).status_code == 422
    assert not validator.is_valid(article)


@pytest.mark.parametrize(
    "image",
    [
        {"type": "image", "src": "https://example.org/a.png", "alt": "A map"},
        {"type": "image", "src": "https://example.org/a.png", "decorative": True},
        {"type": "image", "src": "https://example.org/a.png", "decorative": True, "alt": ""},
        {"type": "image", "src": "https://example.org/a.png", "decorative": True, "alt": None},
    ],
)
def test_described_and_decorative_images_pass(validator, post_json, image):
    article = minimal(body=[image])
    assert post_json("/v1/render/html", article).status_code == 200
    assert validator.is_valid(article)


def test_every_pattern_compiles_as_json_schema_asks(client):
    """JSON Schema 2020-12 patterns are ECMA-262 regular expressions with the u flag (Ajv's
    default): 18 of them had \\" in a class, an invalid escape there, so a JavaScript client
    could not compile the schema at all."""
    import shutil
    import subprocess

    from .conftest import require_tool

    require_tool(shutil.which("node") is not None, "node (Node.js)")
    patterns = set()

    def walk(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "pattern" and isinstance(item, str):
                    patterns.add(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(client.get("/v1/schema/article.json").get_json())
    walk(client.get("/openapi.json").get_json())
    assert len(patterns) > 10
    script = (
        "const bad = [];"
        f"for (const p of {json.dumps(sorted(patterns))}) "
        "{ try { new RegExp(p, 'u') } catch (e) { bad.push(p + ': ' + e.message) } }"
        "console.log(JSON.stringify(bad))"
    )
    done = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


@pytest.mark.parametrize(
    "changes",
    [
        {"canonical_url": "https://example.com/" + "a" * 3000},  # past a link's 2,000
        {"canonical_url": "https://example.com:99999/"},  # no such port
        {"canonical_url": "https://exa:mple.com/"},
        {"body": [{"type": "image", "src": "https://example.org/a.png", "alt": "a\ufdd0b"}]},
        # An image's address or embedded bytes past their lengths (the schema had none).
        {"body": [{"type": "image", "src": "https://example.org/" + "a" * 1990, "alt": "a"}]},
        {
            "body": [
                {"type": "image", "src": "data:image/png;base64," + "A" * 6_990_512, "alt": "a"}
            ]
        },
    ],
)
def test_what_the_server_refuses_and_a_schema_can_say_the_schema_refuses(validator, changes):
    from service.errors import BadArticle
    from service.validation import validate_article

    article = minimal(**changes)
    with pytest.raises(BadArticle):
        validate_article(article)
    assert list(validator.iter_errors(article)), "the schema took it"


@pytest.mark.parametrize(
    "url",
    ["https://example.com:0/", "https://example.com:65535/a", "https://example.com:/",
     "https://example.com:08080/", "https://[2001:db8::1]:8080/x"],
)  # fmt: skip
def test_ports_and_address_literals_the_server_takes_the_schema_takes(validator, url):
    from service.validation import validate_article

    article = minimal(canonical_url=url)
    validate_article(article)
    assert list(validator.iter_errors(article)) == []


@pytest.mark.parametrize(
    "changes",
    [
        {"published_at": "2026-03-12 08:00:00+01:00"},  # RFC 3339 §5.6 lets a space in
        {"canonical_url": "https://bücher.example/straße"},
        {"canonical_url": "https://example.org/a|b/{c}"},
    ],
)
def test_a_client_checking_formats_takes_what_the_server_takes(app_schema, changes):
    """The schema said format date-time and uri: a client asserting formats (ajv-formats,
    jsonschema's format checker) refused a date with a space, and addresses the server
    takes and writes out percent-encoded."""
    from service.validation import validate_article

    article = minimal(**changes)
    validate_article(article)
    checking = jsonschema.Draft202012Validator(
        app_schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    assert list(checking.iter_errors(article)) == []
    assert '"format": "uri"' not in json.dumps(app_schema)  # no checker here to catch it
