"""Throughput of the API: one `kb serve` worker against two behind nginx (issue 14).

One command, one base: a copy of a knowledge base (default data/kb, the sample bank
`make run-cluster` builds) served by tools/cluster.sh with two API workers behind nginx.
"One worker" is api-1 asked directly; "two" is nginx, which spreads the same questions
over api-1 and api-2. After every question has been asked once of each worker (models
loaded, caches filled), N askers (8, then 32: threads, each its own HTTP connection) post
the golden set's questions to /v1/ask back to back for a few seconds, one set-up after the
other, for several rounds. Interleaving matters here: the machine is shared, and a load
that changes over minutes would otherwise favour whichever set-up ran in the quieter one.
The report gives the median answers per second and p95 latency over the rounds, the ratio
per round, errors, which worker answered, and the machine's load average meanwhile.

`python -m eval.cluster_bench` writes eval/reports/cluster.md (and cluster.json).
`--store postgres` measures the same on the shared store (KB_STORE=postgres, the server of
KB_DATABASE_URL or else `tools/postgres.sh url`): the copy is moved with `kb migrate --to
postgres` into a namespace of its own, dropped afterwards, and the report is
eval/reports/cluster-postgres.md (and .json). There both workers search one PostgreSQL,
which runs on the same two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import httpx

from eval.golden import load_golden

REPO = Path(__file__).parent.parent
CLUSTER = REPO / "tools" / "cluster.sh"
KB = str(Path(sys.executable).parent / "kb")
REPORTS = REPO / "eval" / "reports"
READING = [
    "",
    "## Reading it",
    "",
    "One `kb serve` worker is one Python process: answering a question is partly Python "
    "(fusion, facts, rendering) under one interpreter lock, partly the embedding model and "
    "the vector search, which use the cores themselves. A second worker adds a second "
    "interpreter, so the Python part can run on both cores at once; on a 2-core machine "
    "that is all the gain there is, at most 2x, and less while the askers, nginx and "
    "everything else the machine runs take their share of the same two cores. More workers "
    "than cores only add switching. A ratio above 2 means one worker alone left part of the "
    "cores idle, most likely because its request threads take turns on one interpreter lock, and with many "
    "askers queued on one process that hand-over costs more than the work; two processes "
    "with half the askers each lose less to it.",
    "",
    "Across machines the same configuration scales by adding workers on other hosts "
    '(`CLUSTER_REMOTE_APIS="host:port ..."`, one `server` line each in nginx\'s upstream): '
    "each brings its own cores, so throughput grows with the machines until the shared store "
    "or nginx is the limit (nginx proxies tens of thousands of requests a second on one core; "
    "a question costs tens of milliseconds of a worker's CPU). That needs the shared store "
    '(`KB_STORE=postgres` with `KB_DATABASE_URL`, README "Running for a whole contact '
    "centre\"): the local store's files and lock belong to one machine. With postgres, "
    "retrieval moves into the database, so its cores and its connection limit become what "
    "to size (eval/reports/postgres-scale.md).",
    "",
]


@dataclass(frozen=True)
class Run:
    """One set-up under one number of askers."""

    workers: int
    askers: int
    seconds: float
    answered: int
    errors: int
    per_second: float
    p50_ms: float
    p95_ms: float
    by_worker: dict[str, int]
    load_average: float
    round: int = 0


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports free right now (all bound at once, so none repeats)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _percentile_ms(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return (
        round(1000 * ordered[min(len(ordered) - 1, int(len(ordered) * share))], 1)
        if ordered
        else 0.0
    )


def copy_base(base: Path, into: Path) -> Path:
    """A private copy of `base` with its audit key (asking writes the audit trail and the
    question log, which must not land in the base being measured)."""
    from kb.audit import default_key_file

    target = into / "kb"
    shutil.copytree(base, target)
    key = default_key_file(base / "audit.sqlite")
    if key.exists():
        shutil.copy2(key, default_key_file(target / "audit.sqlite"))
    return target


def create_token(env: dict[str, str]) -> str:
    done = subprocess.run(
        [KB, "tokens", "create", "cluster-bench", "--role", "rpa", "--rate", "1000000"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.rsplit(":", 1)[1].strip()


def hammer(url: str, token: str, questions: list[str], askers: int, seconds: float) -> Run:
    """`askers` threads asking back to back for `seconds`; what came back, and from whom."""
    latencies: list[float] = []
    errors = [0]
    by_worker: dict[str, int] = {}
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def asker(offset: int) -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            n = offset
            while time.monotonic() < stop_at:
                started = time.monotonic()
                try:
                    response = client.post(
                        f"{url}/v1/ask", json={"question": questions[n % len(questions)]}
                    )
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok, response = False, None
                took = time.monotonic() - started
                with lock:
                    if ok and response is not None:
                        latencies.append(took)
                        worker = response.headers.get("X-AnswerDesk-Replica", "?")
                        by_worker[worker] = by_worker.get(worker, 0) + 1
                    else:
                        errors[0] += 1
                n += askers

    threads = [threading.Thread(target=asker, args=(i,)) for i in range(askers)]
    load_before = os.getloadavg()[0]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    return Run(
        workers=0, askers=askers, seconds=round(elapsed, 1), answered=len(latencies), errors=errors[0],
        per_second=round(len(latencies) / elapsed, 1), p50_ms=_percentile_ms(latencies, 0.5),
        p95_ms=_percentile_ms(latencies, 0.95), by_worker=dict(sorted(by_worker.items())),
        load_average=round(max(load_before, os.getloadavg()[0]), 2),
    )  # fmt: skip


def warm(url: str, token: str, questions: list[str], askers: int) -> None:
    """Every question once before measuring: the models loaded and every per-passage cache
    filled in each worker, so neither set-up is measured while still warming up."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(headers=headers, timeout=120) as client, ThreadPoolExecutor(askers) as pool:
        for response in pool.map(
            lambda q: client.post(f"{url}/v1/ask", json={"question": q}), questions
        ):
            response.raise_for_status()


def store_env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    """The environment of every process of the run: the local store on `data_dir`, or, given
    a database URL, the shared store in a namespace of this run's own (`data_dir` then holds
    only the audit key and the caches, as on a replica)."""
    keep = ("KB_STORE", "KB_DATABASE_URL", "KB_DATABASE_SCHEMA", "KB_AUDIT_KEY_FILE")
    env = {k: v for k, v in os.environ.items() if k not in keep}
    env["KB_DATA_DIR"] = str(data_dir)
    if database_url:
        env.update(
            KB_STORE="postgres",
            KB_DATABASE_URL=database_url,
            KB_DATABASE_SCHEMA=f"clusterbench{os.getpid()}",
        )
    return env


def measure(
    base: Path,
    askers: tuple[int, ...],
    seconds: float,
    rounds: int,
    database_url: str | None = None,
) -> list[Run]:
    """Start the cluster (two API workers, one app replica) on a copy of `base` (moved into
    PostgreSQL when `database_url` is given), measure both set-ups in alternation, stop it."""
    questions = [q.text for q in load_golden()]
    with tempfile.TemporaryDirectory(prefix="cluster-bench-") as folder:
        data_dir = copy_base(base, Path(folder))
        app_port, api_port, app, api1, api2 = free_ports(5)
        env = store_env(data_dir, database_url)
        env.update(
            CLUSTER_DIR=str(Path(folder) / "cluster"),
            CLUSTER_PORT=str(app_port), CLUSTER_API_PORT=str(api_port), CLUSTER_APP_PORTS=str(app),
            CLUSTER_API_PORTS=f"{api1} {api2}",
        )  # fmt: skip
        if database_url:
            migrate = [KB, "migrate", "--to", "postgres", "--no-progress"]
            subprocess.run(migrate, env={**env, "KB_STORE": "local"}, check=True, timeout=1800)
        try:
            token = create_token(env)
            subprocess.run(
                [CLUSTER, "start"], env=env, check=True, capture_output=True, timeout=300
            )
            return _measure_started(questions, token, askers, seconds, rounds, api1, api2, api_port)
        finally:
            subprocess.run([CLUSTER, "stop"], env=env, capture_output=True, timeout=120)
            if database_url:
                from kb.postgres import drop_namespace

                drop_namespace(database_url, env["KB_DATABASE_SCHEMA"])


def _measure_started(
    questions: list[str],
    token: str,
    askers: tuple[int, ...],
    seconds: float,
    rounds: int,
    api1: int,
    api2: int,
    api_port: int,
) -> list[Run]:
    """Both set-ups of a started cluster, in alternation (see `measure`)."""
    set_ups = ((1, f"http://127.0.0.1:{api1}"), (2, f"http://127.0.0.1:{api_port}"))
    for port in (api1, api2):  # each worker directly: both fully warm
        warm(f"http://127.0.0.1:{port}", token, questions, max(askers))
    runs = []
    for round_number in range(1, rounds + 1):
        for n in askers:
            for workers, url in set_ups:
                run = hammer(url, token, questions, n, seconds)
                if workers == 1:  # asked directly: no nginx to name the worker
                    run = replace(run, by_worker={"api-1": run.answered})
                runs.append(replace(run, workers=workers, round=round_number))
                print(
                    f"round {round_number}: {workers} worker(s), {n} askers: "
                    f"{run.per_second} q/s, p95 {run.p95_ms} ms",
                    file=sys.stderr,
                )
    return runs


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat's first line."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def cpu_busy(seconds: float = 5.0) -> float:
    """The share of the machine's CPU time in use over the next `seconds` (0 to 1)."""
    busy, total = _cpu_times()
    time.sleep(seconds)
    busy_after, total_after = _cpu_times()
    return round((busy_after - busy) / max(1, total_after - total), 3)


def postgres_url() -> str | None:
    """The URL of the server tools/postgres.sh runs, or None when it is not running."""
    done = subprocess.run(
        [str(REPO / "tools" / "postgres.sh"), "url"], capture_output=True, text=True
    )
    return done.stdout.strip() or None if done.returncode == 0 else None


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 1) if values else 0.0


def write_report(
    runs: list[Run],
    base: Path,
    command: str,
    seconds: float,
    store: str = "local",
    busy_before: float = 0.0,
) -> Path:
    """eval/reports/cluster[-postgres].md and .json. `busy_before` is the share of the
    machine's CPU time other work used just before the cluster started: the load average
    during the runs counts the benchmark's own asker threads, workers, nginx (and
    PostgreSQL), and the one before still carries the minute before, so only the first says
    whether other work was competing for the cores."""
    REPORTS.mkdir(parents=True, exist_ok=True)
    name = "cluster" if store == "local" else f"cluster-{store}"
    (REPORTS / f"{name}.json").write_text(json.dumps([asdict(r) for r in runs], indent=2) + "\n")
    rounds = max(r.round for r in runs)
    lines = [
        "# API throughput: one worker vs two behind nginx"
        + (" (shared store: PostgreSQL + pgvector)" if store == "postgres" else ""),
        "",
        f"Command: `{command}` (base: a copy of `{_shown(base)}`; {rounds} rounds of {seconds:g} s per "
        "set-up and number of askers, interleaved, after every question once of each worker; "
        "questions: the golden set's, back to back). One worker: api-1 asked directly. "
        "Two: nginx in front of api-1 and api-2."
        + (
            " Store: KB_STORE=postgres, the copy moved with `kb migrate --to postgres` into a "
            "namespace of its own on a PostgreSQL server on this machine (its processes share "
            "the same cores)."
            if store == "postgres"
            else ""
        ),
        f"Machine: {os.cpu_count()} cores, {platform.platform()}, Python "
        f"{platform.python_version()}; the askers (Python threads) run on the same cores as "
        "the workers and nginx, and so does whatever else the machine runs. The load average in "
        "the table counts the benchmark's own threads and processes; just before the run, other "
        f"work used {busy_before:.0%} of the CPU.",
        "",
        "| API workers | askers | answers/s (median) | per round | p50 ms | p95 ms | errors | "
        "answered by | load average |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    groups: dict[tuple[int, int], list[Run]] = {}
    for r in runs:
        groups.setdefault((r.workers, r.askers), []).append(r)
    for (workers, askers), group in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        spread: dict[str, int] = {}
        for r in group:
            for k, v in r.by_worker.items():
                spread[k] = spread.get(k, 0) + v
        lines.append(
            f"| {workers} | {askers} | {_median([r.per_second for r in group])} | "
            f"{', '.join(str(r.per_second) for r in group)} | "
            f"{_median([r.p50_ms for r in group])} | {_median([r.p95_ms for r in group])} | "
            f"{sum(r.errors for r in group)} | {', '.join(f'{k} {v}' for k, v in spread.items())} | "
            f"{_median([r.load_average for r in group])} |"
        )
    lines.append("")
    for askers in sorted({r.askers for r in runs}):
        ratios = [
            two.per_second / one.per_second
            for one, two in zip(groups[(1, askers)], groups[(2, askers)], strict=True)
            if one.per_second
        ]
        if ratios:
            lines.append(
                f"- {askers} askers: two workers answer {statistics.median(ratios):.2f}x as many "
                f"questions per second as one (median of the rounds' ratios: "
                f"{', '.join(f'{x:.2f}' for x in ratios)})."
            )
    cores = os.cpu_count() or 1
    if busy_before > 0.25:
        lines += [
            "",
            f"Just before this run other work used {busy_before:.0%} of the {cores} cores: "
            "other work took part of the CPU, so both set-ups got only a share of the cores: "
            "these are what a busy machine gave, not what an idle one would (run the same "
            "command there).",
        ]
    lines += READING
    path = REPORTS / f"{name}.md"
    path.write_text("\n".join(lines))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base", type=Path, default=REPO / "data" / "kb", help="knowledge base folder"
    )
    parser.add_argument("--seconds", type=float, default=6.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--askers", type=int, nargs="+", default=[8, 32])
    parser.add_argument(
        "--store",
        choices=("local", "postgres"),
        default="local",
        help="postgres: the base moved into KB_DATABASE_URL's server (tools/postgres.sh url)",
    )
    args = parser.parse_args(argv)
    database_url = None
    if args.store == "postgres":
        database_url = os.environ.get("KB_DATABASE_URL") or postgres_url()
        if not database_url:
            parser.error(
                "--store postgres needs a server: tools/postgres.sh start, or KB_DATABASE_URL"
            )
    if not (args.base / "registry.sqlite").exists():
        parser.error(
            f"{args.base} holds no knowledge base: build one first (make run-cluster or kb ingest samples)"
        )
    busy_before = cpu_busy()
    runs = measure(args.base, tuple(args.askers), args.seconds, args.rounds, database_url)
    command = (
        "python -m eval.cluster_bench"
        + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    )
    print(write_report(runs, args.base, command, args.seconds, args.store, busy_before))
    return 0


if __name__ == "__main__":
    sys.exit(main())
