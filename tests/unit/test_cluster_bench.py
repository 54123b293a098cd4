"""The cluster benchmark's environment and report naming (eval.cluster_bench), without servers."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from eval import cluster_bench
from eval.cluster_bench import Run, store_env, write_report


def test_the_local_run_ignores_a_shared_store_set_in_the_shell(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KB_STORE", "postgres")
    monkeypatch.setenv("KB_DATABASE_URL", "postgresql://someone@db/answerdesk")
    monkeypatch.setenv("KB_AUDIT_KEY_FILE", "/somewhere/else.audit-key")
    env = store_env(tmp_path / "kb", None)
    assert env["KB_DATA_DIR"] == str(tmp_path / "kb")
    assert not {"KB_STORE", "KB_DATABASE_URL", "KB_DATABASE_SCHEMA", "KB_AUDIT_KEY_FILE"} & set(env)


def test_the_postgres_run_gets_a_namespace_of_its_own(tmp_path: Path) -> None:
    env = store_env(tmp_path / "kb", "postgresql://answerdesk@127.0.0.1:5432/answerdesk")
    assert env["KB_STORE"] == "postgres"
    assert env["KB_DATABASE_SCHEMA"].startswith("clusterbench")
    assert env["KB_DATABASE_SCHEMA"] != "answerdesk"  # never the shared base people use


def _run(workers: int, per_second: float) -> Run:
    return Run(
        workers=workers, askers=8, seconds=6.0, answered=int(per_second * 6), errors=0,
        per_second=per_second, p50_ms=80.0, p95_ms=150.0, by_worker={"api-1": 1},
        load_average=1.0, round=1,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("store", "name"), [("local", "cluster"), ("postgres", "cluster-postgres")]
)
def test_each_store_has_its_own_report(monkeypatch, tmp_path: Path, store: str, name: str) -> None:
    monkeypatch.setattr(cluster_bench, "REPORTS", tmp_path)
    path = write_report([_run(1, 40.0), _run(2, 70.0)], tmp_path, "cmd", 6.0, store)
    assert path == tmp_path / f"{name}.md"
    assert (tmp_path / f"{name}.json").exists()
    text = path.read_text()
    assert "1.75x" in text
    assert ("PostgreSQL" in text.splitlines()[0]) == (store == "postgres")


def test_a_busy_machine_is_judged_by_the_cpu_others_used_before_the_run(
    monkeypatch, tmp_path: Path
) -> None:
    """The load during the run counts the benchmark's own askers and workers: an idle machine
    must not be reported as busy because of them."""
    monkeypatch.setattr(cluster_bench, "REPORTS", tmp_path)
    runs = [replace(_run(1, 40.0), load_average=7.0), replace(_run(2, 70.0), load_average=7.0)]
    quiet = write_report(runs, tmp_path, "cmd", 6.0, "local", busy_before=0.05).read_text()
    assert "busy machine" not in quiet and "other work used 5% of the CPU" in quiet
    busy = write_report(runs, tmp_path, "cmd", 6.0, "local", busy_before=0.6).read_text()
    assert "busy machine" in busy and "60% of the 2 cores" in busy.replace(
        f"{os.cpu_count()} cores", "2 cores"
    )


def test_cpu_busy_is_a_share() -> None:
    assert 0.0 <= cluster_bench.cpu_busy(0.2) <= 1.0
