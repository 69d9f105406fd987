"""The accessibility and validity checks are real: they flag a page that is broken on purpose."""

from __future__ import annotations

import pytest

BROKEN = (
    "<!DOCTYPE html><html><head><title>x</title></head><body>"
    "<img src='data:image/png;base64,iVBORw0KGgo='><p style='color:#ccc;background:#fff'>"
    "faint</p><div><li>orphan item</div></body></html>"
)


@pytest.mark.browser
def test_axe_reports_violations_on_a_broken_page(axe):
    ids = {v["id"] for v in axe(BROKEN, ["wcag2a", "wcag2aa", "best-practice"])}
    assert {"image-alt", "html-has-lang", "color-contrast", "listitem"} <= ids


def test_nu_checker_reports_errors_on_a_broken_page(nu_checker, tmp_path):
    errors = nu_checker({"broken": BROKEN}, tmp_path)["broken"]
    messages = " ".join(m["message"] for m in errors)
    assert "alt" in messages
    assert "li" in messages
