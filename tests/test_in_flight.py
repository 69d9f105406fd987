"""One run per key at a time: later askers share its result or its refusal."""

from __future__ import annotations

import threading
import time

import pytest

from service.errors import EditionTooLarge, PrinterUnavailable
from service.in_flight import InFlight


def _together(n, target):
    results: list = [None] * n

    def one(i):
        try:
            results[i] = target()
        except Exception as error:
            results[i] = error

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return results


def test_askers_while_it_runs_share_one_run_and_a_later_one_runs_again():
    flights, runs = InFlight(), []

    def work():
        runs.append(1)
        time.sleep(0.3)
        return b"pdf"

    assert _together(4, lambda: flights.run("e", work, wait=5)) == [b"pdf"] * 4
    assert len(runs) == 1
    assert flights.run("e", work, wait=5) == b"pdf"
    assert len(runs) == 2
    assert len(flights) == 0


def test_a_refusal_reaches_every_asker_as_its_own_copy():
    flights = InFlight()

    def work():
        time.sleep(0.3)
        raise EditionTooLarge("Too slow.")

    errors = _together(3, lambda: flights.run("e", work, wait=5))
    assert all(isinstance(e, EditionTooLarge) and e.detail == "Too slow." for e in errors)
    assert len({id(e) for e in errors}) == 3
    assert len(flights) == 0


def test_a_waiter_gives_up_with_a_503_and_an_unexpected_failure_is_not_passed_on():
    flights = InFlight()
    started = threading.Event()

    def slow():
        started.set()
        time.sleep(1)
        raise RuntimeError("printer exploded")

    leader = threading.Thread(target=_together, args=(1, lambda: flights.run("e", slow, wait=5)))
    leader.start()
    started.wait(5)
    with pytest.raises(PrinterUnavailable):
        flights.run("e", slow, wait=0.1)
    with pytest.raises(PrinterUnavailable, match="failed to print"):
        flights.run("e", slow, wait=5)
    leader.join(5)
    assert len(flights) == 0
