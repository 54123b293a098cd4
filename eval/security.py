"""The security report: every test marked `@pytest.mark.security` is an attack that was tried.

`python -m eval.security` runs them with pytest (JUnit XML to a temporary file), and writes
`eval/reports/security.md`: one table per area (a test module), one row per attack (the first
line of the test's docstring, "Attack: ..."), and whether the product held or broke, with the
command and the date. Extra arguments go to pytest, e.g. `python -m eval.security -m
"security and not integration"` for the attacks that need no model. It exits 1 if any attack
broke through (a failed or erroring test) and 0 otherwise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import inspect
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REPORT = REPO / "eval" / "reports" / "security.md"
OUTCOMES = {"passed": "held", "failed": "broke", "error": "broke", "skipped": "not run"}


@dataclass(frozen=True)
class Attempt:
    """One test run: its module, test function (without parameters), parameter id, outcome
    (passed, failed, error or skipped) and, when it did not pass, pytest's short message."""

    module: str
    test: str
    parameters: str
    outcome: str
    message: str = ""


@dataclass(frozen=True)
class Attack:
    """One row of the report: an attack (all parameter runs of one test) and its outcome."""

    module: str
    test: str
    description: str
    runs: int
    broke: int
    not_run: int
    messages: tuple[str, ...] = ()

    @property
    def outcome(self) -> str:
        if self.broke:
            return "broke" if self.broke == self.runs else f"broke ({self.broke} of {self.runs})"
        if self.not_run == self.runs:
            return "not run"
        return "held" if self.runs == 1 else f"held ({self.runs - self.not_run} of {self.runs})"


def parse_junit(xml_text: str) -> list[Attempt]:
    """The test runs in a JUnit XML report, in file order."""
    attempts = []
    for case in ET.fromstring(xml_text).iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "")
        test, _, parameters = name.partition("[")
        outcome, message = "passed", ""
        for kind in ("failure", "error", "skipped"):
            found = case.find(kind)
            if found is not None:
                outcome = "failed" if kind == "failure" else kind
                message = (found.get("message") or "").strip().splitlines()[0:1]
                message = message[0][:200] if message else ""
                break
        attempts.append(Attempt(classname, test, parameters.rstrip("]"), outcome, message))
    return attempts


def docstring_of(module: str, test: str) -> str:
    """The first line of a test's docstring ('' if the test cannot be found); `module` is
    pytest's dotted class name (a module, or a module and a class)."""
    parts = module.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in (*parts[cut:], test):
            target = getattr(target, attribute, None)
            if target is None:
                return ""
        doc = inspect.getdoc(target) or ""
        return " ".join(doc.split("\n\n")[0].split())
    return ""


def module_title(module: str) -> str:
    """An area's heading: the module's docstring's first sentence, else its name."""
    name = module.split(".")[-1] if "." in module else module
    try:
        doc = inspect.getdoc(importlib.import_module(module)) or ""
    except ImportError:
        doc = ""
    first = re.split(r"(?<=[.:])\s", " ".join(doc.split()), maxsplit=1)[0].rstrip(".:")
    return f"{first} (`{name}`)" if first else f"`{name}`"


def group_attacks(
    attempts: Sequence[Attempt], describe: Callable[[str, str], str] = docstring_of
) -> dict[str, list[Attack]]:
    """Attacks by area (test module), in the order pytest ran them."""
    runs: dict[tuple[str, str], list[Attempt]] = {}
    for attempt in attempts:
        runs.setdefault((attempt.module, attempt.test), []).append(attempt)
    areas: dict[str, list[Attack]] = {}
    for (module, test), tried in runs.items():
        area = module.rsplit(".", 1)[0] if module.split(".")[-1][:1].isupper() else module
        areas.setdefault(area, []).append(
            Attack(
                module,
                test,
                describe(module, test) or test.replace("_", " "),
                len(tried),
                sum(a.outcome in ("failed", "error") for a in tried),
                sum(a.outcome == "skipped" for a in tried),
                tuple(dict.fromkeys(a.message for a in tried if a.message)),
            )
        )
    return areas


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_report(
    areas: dict[str, list[Attack]],
    command: str,
    when: dt.datetime,
    title: Callable[[str], str] = module_title,
) -> str:
    """The Markdown report."""
    attacks = [a for area in areas.values() for a in area]
    broke = [a for a in attacks if a.broke]
    held = [a for a in attacks if not a.broke and a.not_run < a.runs]
    lines = [
        "# Security: attacks tried and their outcomes",
        "",
        f"`{command}` on {when:%Y-%m-%d %H:%M} UTC. Each row is a test marked "
        "`@pytest.mark.security` that reproduces an attack (issue 12); **held** means the "
        "attack failed against the product (the test passed), **broke** that it got through "
        "(the test failed or erred). Regenerate with the same command.",
        "",
        f"**{len(attacks)} attacks in {len(areas)} areas: {len(held)} held, {len(broke)} "
        f"broke, {len(attacks) - len(held) - len(broke)} not run.**",
        "",
    ]
    for area, rows in areas.items():
        lines += [f"## {title(area)}", "", "| Attack | Outcome | Test |", "|---|---|---|"]
        for attack in rows:
            description = re.sub(r"^Attack:\s*", "", attack.description)
            outcome = f"**{attack.outcome}**" if attack.broke else attack.outcome
            if attack.broke and attack.messages:
                outcome += f": {attack.messages[0]}"
            lines.append(f"| {_cell(description)} | {_cell(outcome)} | `{attack.test}` |")
        lines.append("")
    unnamed = [a.test for a in attacks if not a.description.startswith("Attack:")]
    if unnamed:
        lines += [
            "Tests marked `security` without an `Attack: ...` docstring (shown by name): "
            + ", ".join(f"`{name}`" for name in unnamed),
            "",
        ]
    return "\n".join(lines)


def run_attacks(pytest_args: Sequence[str]) -> tuple[list[Attempt], int]:
    """Run pytest over the security tests; the runs and pytest's exit code."""
    with tempfile.TemporaryDirectory(prefix="kb-security-") as folder:
        junit = Path(folder) / "junit.xml"
        marker = (
            [] if any(a == "-m" or a.startswith("-m") for a in pytest_args) else ["-m", "security"]
        )
        result = subprocess.run(
            [sys.executable, "-m", "pytest", *marker, "-q", "-p", "no:cacheprovider",
             f"--junitxml={junit}", *pytest_args],
            cwd=REPO, check=False,
        )  # fmt: skip
        if not junit.exists():
            raise SystemExit(f"pytest wrote no report (exit code {result.returncode})")
        return parse_junit(junit.read_text(encoding="utf-8")), result.returncode


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m eval.security", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--report", type=Path, default=REPORT, help="where to write the report")
    args, pytest_args = parser.parse_known_args(argv)  # the rest goes to pytest
    attempts, code = run_attacks(pytest_args)
    if code not in (0, 1):  # 1: some tests failed (attacks that broke through); else pytest failed
        print(f"pytest stopped with exit code {code}; the report may be partial", file=sys.stderr)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    command = " ".join(["python -m eval.security", *(argv if argv is not None else sys.argv[1:])])
    report = render_report(group_attacks(attempts), command, dt.datetime.now(dt.UTC))
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(report, encoding="utf-8")
    broke = sum(a.outcome in ("failed", "error") for a in attempts)
    print(f"{len(attempts)} attack runs, {broke} broke through; wrote {args.report}")
    return 1 if broke else 0


if __name__ == "__main__":
    sys.exit(main())
