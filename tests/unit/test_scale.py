"""The scale benchmark's synthetic terms and its report (eval.scale), without a model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.scale import _vary, _vary_terms, stores_to_measure, write_report
from kb.lexical import tokenize


def test_variant_terms_match_tokenising_the_variant() -> None:
    text = "The CHAPS fee is 25 pounds; call 0800 123 456 within 30 days. 挂失银行卡"
    for variant in (0, 6, 13):
        assert _vary_terms(tokenize(text), variant) == " ".join(tokenize(_vary(text, variant)))


def _point(chunks: int, p95: float, store: str = "local") -> dict:
    return {"store": store, "chunks": chunks, "p95_ms": p95, "cpu_ms_per_ask": 1.0}


def test_report_merges_runs_by_store_and_size(tmp_path: Path) -> None:
    write_report([_point(1014, 40.0), _point(100_003, 90.0)], tmp_path, "kb bench samples --scale")
    report = write_report([_point(1_000_002, 300.0)], tmp_path, "python -m eval.scale samples")
    write_report([_point(100_001, 70.0, "postgres")], tmp_path, "kb bench --scale --store postgres")
    record = json.loads((tmp_path / "bench-scale.json").read_text())
    assert [(p["store"], p["chunks"]) for p in record["points"]] == [
        ("local", 1014),
        ("local", 100_003),
        ("local", 1_000_002),
        ("postgres", 100_001),
    ]
    assert len(record["commands"]) == 3
    # A new run at about the same size replaces that store's row instead of adding one.
    write_report([_point(100_010, 45.0)], tmp_path, "kb bench samples --scale")
    points = json.loads((tmp_path / "bench-scale.json").read_text())["points"]
    assert [(p["store"], p["chunks"], p["p95_ms"]) for p in points] == [
        ("local", 1014, 40.0),
        ("local", 100_010, 45.0),
        ("local", 1_000_002, 300.0),
        ("postgres", 100_001, 70.0),
    ]
    assert "| local | 1000002 | 300.0 | 1.0 |" in report


def test_both_stores_when_a_database_is_set() -> None:
    assert stores_to_measure(None, "postgresql://x") == ("local", "postgres")
    assert stores_to_measure(None, None) == ("local",)
    assert stores_to_measure("postgres", "postgresql://x") == ("postgres",)


def test_an_existing_schema_without_its_audit_key_is_refused_before_anything_runs(
    monkeypatch, capsys
) -> None:
    from eval.scale import main

    monkeypatch.delenv("KB_AUDIT_KEY_FILE", raising=False)
    monkeypatch.setenv("KB_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(SystemExit) as stopped:
        main(["samples", "--store", "postgres", "--schema", "pgscale100000"])
    assert stopped.value.code == 2
    assert "KB_AUDIT_KEY_FILE" in capsys.readouterr().err
