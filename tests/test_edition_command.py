"""`broadsheet edition FILE... -o OUT.pdf`: the command line over the printer pool."""

from __future__ import annotations

import io
import json

import pikepdf
import pytest
from pypdf import PdfReader

from .corpus import EXAMPLES, minimal


@pytest.fixture
def edition_runner(make_app):
    def runner(**config):
        return make_app(PDF_WORKERS=1, PUBLISHER_NAME="Test Gazette", **config).test_cli_runner()

    return runner


def test_edition_command_prints_the_files_in_order(edition_runner, tmp_path):
    out = tmp_path / "edition.pdf"
    files = [str(EXAMPLES / "mercado-es.json"), str(EXAMPLES / "bike-lanes.json")]
    result = edition_runner().invoke(
        args=["edition", *files, "-o", str(out), "--title", "Weekend", "--lang", "en"]
    )
    assert result.exit_code == 0, result.output
    assert "Printing articles" in result.stderr
    assert "Wrote" in result.stderr
    reader = PdfReader(io.BytesIO(out.read_bytes()))
    headlines = [json.loads((EXAMPLES / f).read_text())["headline"] for f in
                 ("mercado-es.json", "bike-lanes.json")]  # fmt: skip
    assert [i.title for i in reader.outline if not isinstance(i, list)] == headlines
    assert reader.metadata.title == "Weekend"
    assert list(reader.page_labels)[:2] == ["i", "1"]


def test_edition_command_for_press(edition_runner, tmp_path):
    out = tmp_path / "press.pdf"
    result = edition_runner().invoke(
        args=["edition", str(EXAMPLES / "bike-lanes.json"), "-o", str(out), "--for", "press"]
    )
    assert result.exit_code == 0, result.output
    with pikepdf.open(out) as pdf:
        assert pdf.Root.OutputIntents[0].S == "/GTS_PDFX"


def test_a_bad_file_is_named_with_its_pointer(edition_runner, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(minimal(body=[])))
    out = tmp_path / "edition.pdf"
    result = edition_runner().invoke(
        args=["edition", str(EXAMPLES / "bike-lanes.json"), str(bad), "-o", str(out)]
    )
    assert result.exit_code == 1
    assert f"{bad}: " in result.stderr
    assert "/body" in result.stderr
    assert not out.exists()


def test_too_many_files_for_the_limit_fail_before_printing(edition_runner, tmp_path):
    out = tmp_path / "edition.pdf"
    files = [str(EXAMPLES / "mercado-es.json"), str(EXAMPLES / "bike-lanes.json")]
    result = edition_runner(EDITION_MAX_ARTICLES=1).invoke(args=["edition", *files, "-o", str(out)])
    assert result.exit_code == 1
    assert "edition: The edition has 2 articles; the limit is 1." in result.stderr
    assert "Printing articles" not in result.stderr
    assert not out.exists()
