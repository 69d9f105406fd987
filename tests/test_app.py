"""Health, schema, settings and the command line."""

from __future__ import annotations

import json

import pytest

from service import create_app

from .corpus import EXAMPLES, minimal


def test_healthz_reports_the_database(make_app, database_url):
    response = make_app(DATABASE_URL=database_url).test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_is_503_when_the_database_is_unreachable(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "DATABASE_URL": f"sqlite:///{tmp_path}/missing/dir/db.sqlite3",
        }
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"


def test_schema_is_published(client):
    response = client.get("/v1/schema/article.json")
    assert response.mimetype == "application/schema+json"
    schema = response.get_json()
    assert set(schema["required"]) == {"id", "headline", "published_at", "body"}
    assert schema["additionalProperties"] is False
    assert schema["properties"]["id"]["pattern"] == "^[a-z0-9][a-z0-9-]{0,119}$"


def test_settings_come_from_prefixed_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("BROADSHEET_BASE_URL", "https://env.example.org/")
    monkeypatch.setenv("BROADSHEET_MAX_BODY_BYTES", "1234")
    app = create_app({"SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})
    assert app.extensions["broadsheet"].settings.base_url == "https://env.example.org"
    assert app.config["MAX_CONTENT_LENGTH"] == 1234


@pytest.mark.parametrize(("fmt", "expected"), [("html", "<!DOCTYPE html>"), ("text", "Council")])
def test_render_command(runner, fmt, expected, tmp_path):
    out = tmp_path / f"out.{fmt}"
    result = runner.invoke(
        args=["render", str(EXAMPLES / "bike-lanes.json"), "--to", fmt, "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_text("utf-8").startswith(expected)


def test_render_command_reports_problems(runner):
    result = runner.invoke(
        args=["render", str(EXAMPLES / "bad" / "missing-alt.json"), "--to", "html"]
    )
    assert result.exit_code == 1
    assert "/body/0/alt" in result.output


def test_render_command_to_stdout(runner, tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(minimal()), "utf-8")
    result = runner.invoke(args=["render", str(path), "--to", "text"])
    assert result.exit_code == 0
    assert "A minimal article" in result.output


def test_published_schema_accepts_the_examples_and_refuses_a_bad_id(client):
    import jsonschema

    from .corpus import corpus

    schema = client.get("/v1/schema/article.json").get_json()
    validator = jsonschema.Draft202012Validator(schema)
    for name, article in corpus().items():
        assert list(validator.iter_errors(article)) == [], name
    assert not validator.is_valid(minimal(id="Not-A-Slug"))
    assert not validator.is_valid(minimal(body=[{"type": "video"}]))
