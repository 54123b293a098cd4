"""Load on the HTTP API's live call assist: a real `kb serve`, real HTTP, real tokens.

For each knowledge base (the sample bank as ingested, ~1k chunks, and the same grown to
10k chunks the way eval/scale.py grows bases), this starts `kb serve` in a subprocess,
creates an integration token with `kb tokens create`, and measures:

1. per-turn latency, one call at a time: POST /v1/calls/{id}/turns then GET .../assist,
   the turns of the recorded calls (eval/data/calls) in order;
2. simultaneous calls: N callers (threads with httpx; Locust is not installed), each opening
   its own call and sending a turn every `interval` seconds for `duration` seconds (POST
   turns + GET assist, the next turn due `interval` after the previous was due, or at once
   if the previous answer came later). Errors (any non-2xx, timeouts, connection errors)
   are counted, latency p50/p95/max and the achieved turn rate against the offered one
   reported, with how late turns were sent (the callers' own queueing) and the machine's
   load average sampled during the run.

`python -m eval.load` writes eval/reports/load.json and load.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).parent.parent
CALLS_DIR = REPO / "eval" / "data" / "calls"
KB_COMMAND = [str(Path(sys.executable).parent / "kb")]


def percentile_ms(values: Sequence[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(1000 * ordered[min(len(ordered) - 1, int(len(ordered) * share))], 1)


def recorded_turns(folder: Path = CALLS_DIR) -> list[list[dict]]:
    """The recorded calls' turns ({speaker, text}), one list per call."""
    from api.simulate import read_recording

    return [
        [{"speaker": t["speaker"], "text": t["text"]} for t in read_recording(path)[1]]
        for path in sorted(folder.glob("*.jsonl"))
    ]


# ---------------------------------------------------------------------- the server


def _env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        KB_DATA_DIR=str(data_dir),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        DO_NOT_TRACK="1",
        UNSTRUCTURED_DISABLE_NOTICE="1",
    )
    return env


def create_token(data_dir: Path, name: str = "load-bench", rate: int = 1_000_000) -> str:
    """`kb tokens create NAME --role assist --rate RATE` in that base; the printed token."""
    done = subprocess.run(
        [*KB_COMMAND, "tokens", "create", name, "--role", "assist", "--rate", str(rate)],
        env=_env(data_dir), capture_output=True, text=True, check=True,
    )  # fmt: skip
    for line in done.stdout.splitlines():
        if "token (shown once" in line:
            return line.rsplit(":", 1)[1].strip()
    raise RuntimeError(f"no token in kb tokens create's output: {done.stdout!r}")


class Server:
    """`kb serve` over one base, in a subprocess, until stopped."""

    def __init__(self, data_dir: Path, port: int, log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = log.open("w")
        self.process = subprocess.Popen(
            [*KB_COMMAND, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=_env(data_dir), stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait(self, timeout: float = 300) -> float:
        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"kb serve exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/openapi.json", timeout=5).status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            time.sleep(1)
        raise RuntimeError(f"kb serve did not answer within {timeout} s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


# ---------------------------------------------------------------------- clients


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    lateness: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    turns: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, what: str) -> None:
        with self.lock:
            self.errors.append(what)


def _turn(client: httpx.Client, call_id: str, turn: dict) -> float:
    """POST the turn, GET the assist; the seconds both took. Raises on a non-2xx."""
    clock = time.perf_counter()
    posted = client.post(f"/v1/calls/{call_id}/turns", json={"turns": [turn]})
    if posted.status_code >= 300:
        raise RuntimeError(f"POST turns {posted.status_code}: {posted.text[:200]}")
    got = client.get(f"/v1/calls/{call_id}/assist")
    if got.status_code >= 300:
        raise RuntimeError(f"GET assist {got.status_code}: {got.text[:200]}")
    if "suggestions" not in got.json():
        raise RuntimeError("GET assist: no suggestions in the snapshot")
    return time.perf_counter() - clock


def _client(url: str, token: str, timeout: float) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout)


def sequential_latency(url: str, token: str, calls: list[list[dict]], turns: int) -> dict:
    """One call at a time, one turn at a time: the latency an agent sees on a quiet server."""
    tally = Tally()
    with _client(url, token, 120) as client:
        done = 0
        for recording in calls * 10:
            call_id = client.post("/v1/calls", json={}).json()["call_id"]
            for turn in recording:
                try:
                    tally.latencies.append(_turn(client, call_id, turn))
                except Exception as e:  # counted and reported, never hidden
                    tally.errors.append(repr(e)[:200])
                done += 1
                if done >= turns:
                    break
            client.post(f"/v1/calls/{call_id}/end")
            if done >= turns:
                break
    return {
        "turns": len(tally.latencies) + len(tally.errors),
        "errors": len(tally.errors),
        "error_examples": tally.errors[:3],
        "p50_ms": percentile_ms(tally.latencies, 0.5),
        "p95_ms": percentile_ms(tally.latencies, 0.95),
        "max_ms": percentile_ms(tally.latencies, 1.0),
    }


def concurrent_calls(
    url: str,
    token: str,
    calls: list[list[dict]],
    callers: int = 50,
    interval: float = 2.0,
    duration: float = 60.0,
    timeout: float = 120.0,
    seed: int = 7,
) -> dict:
    """`callers` simultaneous calls, each sending a turn every `interval` s for `duration` s
    (no new turn after `duration`; turns already sent are waited for, up to `timeout`)."""
    tally = Tally()
    rng = random.Random(seed)
    offsets = [rng.uniform(0, interval) for _ in range(callers)]
    loads: list[tuple[float, float]] = []
    stop = threading.Event()
    begun = time.perf_counter()
    deadline = begun + duration

    def caller(number: int) -> None:
        recording = calls[number % len(calls)]
        with _client(url, token, timeout) as client:
            try:
                opened = client.post("/v1/calls", json={"reference": f"load {number}"})
                opened.raise_for_status()
                call_id = opened.json()["call_id"]
            except Exception as e:
                tally.error(f"open: {e!r}"[:200])
                return
            due = begun + offsets[number]
            position = 0
            while due < deadline and time.perf_counter() < deadline:
                now = time.perf_counter()
                if due > now:
                    time.sleep(due - now)
                late = time.perf_counter() - due
                turn = recording[position % len(recording)]
                position += 1
                try:
                    took = _turn(client, call_id, turn)
                    with tally.lock:
                        tally.latencies.append(took)
                        tally.lateness.append(late)
                        tally.turns += 1
                except Exception as e:  # counted and reported, never hidden
                    tally.error(repr(e)[:200])
                due += interval
            try:
                client.post(f"/v1/calls/{call_id}/end").raise_for_status()
            except Exception as e:
                tally.error(f"end: {e!r}"[:200])

    def sample_load() -> None:
        while not stop.wait(5):
            loads.append((round(time.perf_counter() - begun, 1), os.getloadavg()[0]))

    sampler = threading.Thread(target=sample_load, daemon=True)
    sampler.start()
    threads = [threading.Thread(target=caller, args=(n,)) for n in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - begun
    stop.set()
    offered = callers * duration / interval
    return {
        "callers": callers,
        "interval_s": interval,
        "duration_s": duration,
        "timeout_s": timeout,
        "elapsed_s": round(elapsed, 1),
        "turns_offered": int(offered),
        "turns_done": tally.turns,
        "errors": len(tally.errors),
        "error_examples": tally.errors[:5],
        "offered_turns_per_s": round(callers / interval, 2),
        "achieved_turns_per_s": round(tally.turns / elapsed, 2),
        "p50_ms": percentile_ms(tally.latencies, 0.5),
        "p95_ms": percentile_ms(tally.latencies, 0.95),
        "max_ms": percentile_ms(tally.latencies, 1.0),
        "sent_late_p50_ms": percentile_ms(tally.lateness, 0.5),
        "sent_late_p95_ms": percentile_ms(tally.lateness, 0.95),
        "sent_late_max_ms": percentile_ms(tally.lateness, 1.0),
        "load_average_1min_samples": loads,
    }


# ---------------------------------------------------------------------- bases


def prepare_base(samples_kb: Path | None, target: Path, chunks: int | None) -> int:
    """Copy (or ingest) the sample bank into `target`, grown to `chunks` if given; its size."""
    from eval.scale import grow
    from kb.config import Settings
    from kb.embedding import create_embedder
    from kb.services import Services
    from kb.store import KnowledgeBase

    shutil.rmtree(target, ignore_errors=True)
    if samples_kb:
        shutil.copytree(samples_kb, target)
    settings = Settings(data_dir=target)
    kb = KnowledgeBase(settings, create_embedder(settings.embedding_model))
    services = Services(settings, kb)
    try:
        if not samples_kb:
            services.ingest_paths([REPO / "samples"])
        if chunks and len(kb.index) < chunks:
            grow(kb, chunks)
        return len(kb.index)
    finally:
        services.close()


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run_size(label: str, data_dir: Path, port: int, args: argparse.Namespace, chunks: int) -> dict:
    calls = recorded_turns(args.calls)
    token = create_token(data_dir)
    server = Server(data_dir, port, args.work_dir / f"serve-{label}.log")
    try:
        ready = server.wait()
        # Warm-up: the server loads the escalation rules' models in the background at start
        # and call requests wait for that (CallSessions' lock), so the first ones are slow.
        clock = time.perf_counter()
        with _client(server.url, token, 900) as client:
            call_id = client.post("/v1/calls", json={}).json()["call_id"]
            first_call = time.perf_counter() - clock
            for turn in calls[0][:3]:
                _turn(client, call_id, turn)
        warm = time.perf_counter() - clock
        load_before = _load()
        sequential = sequential_latency(server.url, token, calls, args.turns)
        load_mid = _load()
        concurrent = concurrent_calls(
            server.url, token, calls, args.callers, args.interval, args.duration
        )
        return {
            "base": label,
            "chunks": chunks,
            "server_ready_s": round(ready, 1),
            "first_call_opened_s": round(first_call, 1),
            "warm_up_s": round(warm, 1),
            "load_average_before": load_before,
            "load_average_after_sequential": load_mid,
            "load_average_after": _load(),
            "sequential": sequential,
            "concurrent": concurrent,
            "server_exit": server.process.poll(),
        }
    finally:
        server.stop()


def markdown_report(results: dict) -> str:
    lines = [
        "# Load on live call assist (HTTP API)",
        "",
        f"`{results['command']}` on {results['machine']}, {results['started_at']}, code at "
        f"{results['code']}. A real `kb serve` (uvicorn, one process) per base, a token from "
        "`kb tokens create`, real HTTP from this process (httpx; Locust is not installed, so "
        "the callers are threads each with its own connection). A turn is `POST "
        "/v1/calls/{id}/turns` (one turn) followed by `GET /v1/calls/{id}/assist`; its latency "
        "is both. The turns are those of eval/data/calls/*.jsonl, in order. The 2 cores are "
        "shared with other work (load averages below), so read latencies as upper bounds.",
        "",
        "## One call at a time",
        "",
        "| base | chunks | turns | errors | p50 ms | p95 ms | max ms | load avg (1/5/15 min) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in results["runs"]:
        s = row["sequential"]
        lines.append(
            f"| {row['base']} | {row['chunks']} | {s['turns']} | {s['errors']} | {s['p50_ms']} | "
            f"{s['p95_ms']} | {s['max_ms']} | {' '.join(map(str, row['load_average_before']))} |"
        )
    lines += [
        "",
        "Start-up (seconds): "
        + "; ".join(
            f"{row['base']}: API answering {row['server_ready_s']}, first `POST /v1/calls` "
            f"answered {row['first_call_opened_s']} after that (it waits for the background "
            f"warm-up of the escalation rules), first 3 turns done {row['warm_up_s']}"
            for row in results["runs"]
        ),
        "",
        "## Simultaneous calls",
        "",
        "| base | callers | a turn every | for | turns offered / done | errors | offered / "
        "achieved turns/s | p50 ms | p95 ms | max ms | sent late p50 / p95 / max ms | "
        "load avg during (1 min) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["runs"]:
        c = row["concurrent"]
        loads = [x for _, x in c["load_average_1min_samples"]]
        during = f"{min(loads):.1f}-{max(loads):.1f}" if loads else "-"
        lines.append(
            f"| {row['base']} | {c['callers']} | {c['interval_s']} s | {c['duration_s']} s "
            f"(took {c['elapsed_s']} s) | {c['turns_offered']} / {c['turns_done']} | "
            f"{c['errors']} | {c['offered_turns_per_s']} / {c['achieved_turns_per_s']} | "
            f"{c['p50_ms']} | {c['p95_ms']} | {c['max_ms']} | {c['sent_late_p50_ms']} / "
            f"{c['sent_late_p95_ms']} / {c['sent_late_max_ms']} | {during} |"
        )
    lines += [
        "",
        '"Sent late" is how long after its due time a caller sent a turn, because its '
        "previous turn had not come back yet: a caller waits for its answer before the next "
        "turn, as an agent's screen would, so when the server cannot keep up the offered "
        "rate is not reached and the shortfall shows here and in achieved turns/s.",
        "",
    ]
    for row in results["runs"]:
        c = row["concurrent"]
        if c["errors"] or row["sequential"]["errors"]:
            lines.append(
                f"Errors on {row['base']}: "
                + "; ".join(row["sequential"]["error_examples"] + c["error_examples"])
            )
    if results.get("notes"):
        lines += ["", *results["notes"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.load", description=__doc__.split("\n")[0])
    parser.add_argument("--samples-kb", type=Path, help="an ingested sample base to copy")
    parser.add_argument("--sizes", default="samples,10000", help="'samples' and/or chunk counts")
    parser.add_argument("--calls", type=Path, default=CALLS_DIR)
    parser.add_argument("--turns", type=int, default=40, help="turns for the one-call latency")
    parser.add_argument("--callers", type=int, default=50)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/answerdesk-eval-load"))
    parser.add_argument("--report-dir", type=Path, default=REPO / "eval" / "reports")
    args = parser.parse_args(argv)
    from eval.public import code_version

    args.work_dir.mkdir(parents=True, exist_ok=True)
    results: dict = {
        "command": "python -m eval.load " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "started_at": time.strftime("%Y-%m-%dT%H:%M UTC", time.gmtime()),
        "code": code_version(),
        "runs": [],
    }
    for number, size in enumerate(s.strip() for s in args.sizes.split(",")):
        target = args.work_dir / f"kb-{size}"
        chunks = prepare_base(args.samples_kb, target, None if size == "samples" else int(size))
        label = "sample bank" if size == "samples" else f"grown to {size}"
        print(f"{label}: {chunks} chunks; serving", file=sys.stderr)
        results["runs"].append(run_size(label, target, args.port + number, args, chunks))
        print(json.dumps(results["runs"][-1], indent=1)[:1500], file=sys.stderr)
        shutil.rmtree(target, ignore_errors=True)
    args.report_dir.mkdir(parents=True, exist_ok=True)
    (args.report_dir / "load.json").write_text(json.dumps(results, indent=1) + "\n", "utf-8")
    (args.report_dir / "load.md").write_text(markdown_report(results), "utf-8")
    print(f"wrote {args.report_dir / 'load.md'} and .json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
