"""kb.side_threads: a part goes to a helper only when one is idle and a core is likely free."""

from __future__ import annotations

import threading

from kb.side_threads import HELPERS, IdleHelpers, system_runnable


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


def test_no_part_is_handed_over_while_other_processes_keep_every_core_busy() -> None:
    """Two cores, one ask at work: with another process's thread ready to run beside the
    caller, the other core is taken and the part runs here; alone, it goes to a helper."""
    load = {"runnable": 2}
    helpers = IdleHelpers(1, runnable=lambda: load["runnable"])
    me = threading.current_thread().name
    with helpers.working():
        assert not helpers.spare()
        assert _where(helpers) == [me, "caller"]
        load["runnable"] = 1  # only the caller
        assert helpers.spare()
        load["runnable"] = None  # unknown: the asks' own count decides
        assert helpers.spare()


def test_the_machines_runnable_threads_are_read() -> None:
    """On Linux with every core of the machine, /proc/loadavg's running count (the caller
    at least); the process's helpers look at it."""
    import os

    found = system_runnable()
    if os.path.exists("/proc/loadavg") and os.cpu_count() == len(os.sched_getaffinity(0)):
        assert found is not None and found >= 1
    assert HELPERS._runnable is system_runnable


def test_work_started_ahead_runs_on_an_idle_helper_only() -> None:
    """`start` hands a part to an idle helper and returns its future at once; with no core
    spare, or the one helper busy, it returns None and nothing runs."""
    release = threading.Event()
    helpers = IdleHelpers(1)
    first = helpers.start(lambda: (release.wait(5), threading.current_thread().name)[1])
    assert first is not None
    assert helpers.start(lambda: "second") is None  # the helper is busy
    release.set()
    assert first.result(5).startswith("kb-helper")
    second = helpers.start(lambda: 7)
    assert second is not None and second.result(5) == 7
    busy = IdleHelpers(1, runnable=lambda: 2)
    assert busy.start(lambda: 7) is None
