"""The published JSON Schema of an article, checked with a real validator."""

from __future__ import annotations

from .corpus import minimal


def test_schema_is_published(client):
    response = client.get("/v1/schema/article.json")
    assert response.mimetype == "application/schema+json"
    schema = response.get_json()
    assert set(schema["required"]) == {"id", "headline", "published_at", "body"}
    assert schema["additionalProperties"] is False
    assert schema["properties"]["id"]["pattern"] == "^[a-z0-9][a-z0-9-]{0,119}$"


def test_published_schema_accepts_the_examples_and_refuses_a_bad_id(client):
    import jsonschema

    from .corpus import corpus

    schema = client.get("/v1/schema/article.json").get_json()
    validator = jsonschema.Draft202012Validator(schema)
    for name, article in corpus().items():
        assert list(validator.iter_errors(article)) == [], name
    assert not validator.is_valid(minimal(id="Not-A-Slug"))
    assert not validator.is_valid(minimal(body=[{"type": "video"}]))
