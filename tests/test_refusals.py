"""RecentRefusals: a refusal is remembered for a while, without what its raising held."""

from __future__ import annotations

import gc
import weakref

import pytest

from service import refusals
from service.errors import EditionTooLarge
from service.refusals import RecentRefusals


class _Job:
    """Stands for an edition job: large, and held by the frame that raised the refusal."""


def _refused_by(job: _Job) -> EditionTooLarge:
    try:
        raise EditionTooLarge("The edition took longer than 40 s to print.")
    except EditionTooLarge as error:
        assert job is not None  # the job is a local of the raising frame
        return error


def test_a_refusal_stands_for_a_while_then_lapses(monkeypatch):
    memo = RecentRefusals(lasting=600)
    clock = [1000.0]
    monkeypatch.setattr(refusals.time, "monotonic", lambda: clock[0])
    memo.remember("edition-a", _refused_by(_Job()))
    with pytest.raises(
        EditionTooLarge, match=r"40 s to print\. \(Refused a moment ago; tried again in 600 s\.\)"
    ):
        memo.check("edition-a")
    memo.check("edition-b")  # another edition: nothing remembered
    clock[0] += 601
    memo.check("edition-a")  # lapsed


def test_it_keeps_no_traceback_and_forgets_what_lapsed(monkeypatch):
    """The traceback's frames held the whole edition job (every article's HTML) for as
    long as the refusal stood; lapsed refusals stayed until 256 newer ones pushed them out."""
    memo = RecentRefusals(lasting=10)
    clock = [0.0]
    monkeypatch.setattr(refusals.time, "monotonic", lambda: clock[0])
    job = _Job()
    held = weakref.ref(job)
    memo.remember("edition-a", _refused_by(job))
    del job
    gc.collect()
    assert held() is None
    clock[0] += 11
    memo.remember("edition-b", _refused_by(_Job()))
    assert list(memo._items) == ["edition-b"]


def test_at_most_so_many_are_remembered():
    memo = RecentRefusals(lasting=600, max_items=3)
    for n in range(5):
        memo.remember(f"edition-{n}", EditionTooLarge("refused"))
    assert list(memo._items) == ["edition-2", "edition-3", "edition-4"]
