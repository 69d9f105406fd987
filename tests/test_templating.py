"""The one Jinja environment: HTML is escaped, plain text is left as written."""

from __future__ import annotations

import pytest
from jinja2 import UndefinedError

from service.templating import build_environment

WORDS = "Tom & Jerry <tj@example.org> say \"hi\" and 'bye'"


@pytest.fixture
def env(tmp_path):
    for name in ("words.txt", "words.html", "words.xml"):
        (tmp_path / name).write_text("{{ words }}", "utf-8")
    return build_environment(tmp_path)


def test_text_templates_are_not_html_escaped(env):
    assert env.get_template("words.txt").render(words=WORDS) == WORDS


@pytest.mark.parametrize("name", ["words.html", "words.xml"])
def test_html_and_xml_templates_are_escaped(env, name):
    assert env.get_template(name).render(words=WORDS) == (
        "Tom &amp; Jerry &lt;tj@example.org&gt; say &#34;hi&#34; and &#39;bye&#39;"
    )


def test_a_missing_value_is_an_error_not_an_empty_string(env):
    with pytest.raises(UndefinedError):
        env.get_template("words.txt").render()
