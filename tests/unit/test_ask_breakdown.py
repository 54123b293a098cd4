"""eval.ask_breakdown's probes: each part gets its own time, not that of the probed calls
inside it, and every probe names a method that exists (a renamed method must fail here,
not silently drop out of the breakdown)."""

from __future__ import annotations

import importlib

from eval.ask_breakdown import PROBES, AskParts, Probes, summary


def test_every_probe_names_a_method() -> None:
    for module_name, attribute, _ in PROBES:
        owner = importlib.import_module(module_name)
        for step in attribute.split("."):
            owner = getattr(owner, step)
        assert callable(owner), attribute


def test_parts_are_exclusive_and_counted() -> None:
    probes = Probes()

    def inner(x: int) -> int:
        return sum(range(x))

    probed_inner = probes._wrap(inner, "inner")

    def outer(x: int) -> int:
        return probed_inner(x) + probed_inner(x)

    probed_outer = probes._wrap(outer, "outer")
    record = AskParts(1, "q", 0.0)
    probes.current = record
    assert probed_outer(200_000) == 2 * sum(range(200_000))
    probes.current = None
    assert record.calls == {"outer": 1, "inner": 2}
    assert record.parts["inner"] > 0
    # The outer part is its own time only: the two inner calls are not in it.
    assert record.parts["outer"] < record.parts["inner"]
    assert probed_outer(10) == 90  # no record: nothing is collected
    assert record.calls == {"outer": 1, "inner": 2}


def test_embedded_texts_are_recorded() -> None:
    probes = Probes()

    class Model:
        def embed_queries(self, texts: list[str]) -> int:
            return len(texts)

    embed = probes._wrap(Model.embed_queries, "embedding")
    record = AskParts(1, "q", 0.0)
    probes.current = record
    assert embed(Model(), ["a question", "its rendering"]) == 2
    probes.current = None
    assert record.embedded == ["a question", "its rendering"]
    assert record.calls == {"embedding": 1}


def test_summary_lists_the_slowest() -> None:
    asks = [
        AskParts(n, f"q{n}", float(n), parts={"lexical": n / 2, "dense": n / 4}, calls={})
        for n in range(1, 21)
    ]
    text = summary(asks)
    assert "asks 20: p50/p95/p99 11.0 / 20.0 / 20.0 ms" in text
    slowest = [line for line in text.splitlines() if line.startswith("| 20 | 20 |")]
    assert slowest and "lexical 10" in slowest[0]
