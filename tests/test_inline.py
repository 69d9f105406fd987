"""Inline markup: the allowlist as a node tree, character references decoded once."""

from __future__ import annotations

from service.inline import parse_inline


def test_inline_tree_keeps_allowed_markup_and_refs():
    inline = parse_inline('a <span lang="fr">b</span> [^n] &amp; <br>c', note_ids=frozenset({"n"}))
    assert inline.note_refs == ("n",)
    assert inline.text == "a b  & \nc"


def test_character_references_are_decoded_once():
    assert parse_inline("&lt;script&gt; &eacute;").text == "<script> é"
