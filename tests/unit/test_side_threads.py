"""kb.side_threads: a part goes to a helper only when one is idle and a core is likely free."""

from __future__ import annotations

import threading

from kb.side_threads import IdleHelpers


def _where(helpers: IdleHelpers) -> list[str]:
    names: list[str] = []
    helpers.run(
        [lambda: names.append("caller"), lambda: names.append(threading.current_thread().name)]
    )
    return names


def test_a_part_goes_to_an_idle_helper_when_a_core_is_free() -> None:
    helpers = IdleHelpers(1)
    assert helpers.spare()
    names = _where(helpers)
    assert names[0].startswith("kb-helper") or names[1].startswith("kb-helper")
    with helpers.working():  # this ask alone: the other core is free
        assert helpers.spare()


def test_no_part_is_handed_over_while_every_core_has_an_ask() -> None:
    helpers = IdleHelpers(1)
    me = threading.current_thread().name
    with helpers.working(), helpers.working():  # two asks at work on two cores
        assert not helpers.spare()
        assert _where(helpers) == [me, "caller"]  # the other part first, on this thread
    assert helpers.spare()


def test_without_helpers_everything_runs_here() -> None:
    helpers = IdleHelpers(0)
    assert not helpers.spare()
    assert _where(helpers) == [threading.current_thread().name, "caller"]
