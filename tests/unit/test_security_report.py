"""eval.security: attacks read from pytest's JUnit XML, grouped by area, rendered as a table."""

from __future__ import annotations

import datetime as dt

from eval.security import Attempt, docstring_of, group_attacks, parse_junit, render_report

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="5">
<testcase classname="tests.unit.test_audit" name="test_truncating_the_tail_is_detected"/>
<testcase classname="tests.unit.test_accounts" name="test_common[root-Password123!]"/>
<testcase classname="tests.unit.test_accounts" name="test_common[root-qwerty]">
  <failure message="AssertionError: DID NOT RAISE&#10;more">trace</failure></testcase>
<testcase classname="tests.unit.test_accounts" name="test_lockout">
  <skipped message="no model"/></testcase>
<testcase classname="tests.unit.test_accounts.TestGroup" name="test_in_a_class">
  <error message="fixture failed"/></testcase>
</testsuite></testsuites>"""


def describe(module: str, test: str) -> str:
    return {"test_common": "Attack: common passwords", "test_lockout": ""}.get(
        test, f"Attack: {test}"
    )


def test_junit_runs_are_read_with_their_outcome_and_parameters():
    attempts = parse_junit(JUNIT)
    assert attempts[1] == Attempt(
        "tests.unit.test_accounts", "test_common", "root-Password123!", "passed"
    )
    assert (
        attempts[2].outcome == "failed" and attempts[2].message == "AssertionError: DID NOT RAISE"
    )
    assert [a.outcome for a in attempts[3:]] == ["skipped", "error"]


def test_attacks_are_grouped_by_module_with_every_parameter_counted():
    areas = group_attacks(parse_junit(JUNIT), describe)
    assert list(areas) == ["tests.unit.test_audit", "tests.unit.test_accounts"]
    common, lockout, in_class = areas["tests.unit.test_accounts"]
    assert (common.runs, common.broke, common.outcome) == (2, 1, "broke (1 of 2)")
    assert lockout.outcome == "not run" and lockout.description == "test lockout"
    assert in_class.outcome == "broke"
    assert areas["tests.unit.test_audit"][0].outcome == "held"


def test_the_report_has_the_command_date_counts_and_a_table_per_area():
    areas = group_attacks(parse_junit(JUNIT), describe)
    report = render_report(
        areas, "python -m eval.security", dt.datetime(2026, 12, 1, 22, 0), title=lambda m: m
    )
    assert "`python -m eval.security` on 2026-12-01 22:00 UTC" in report
    assert "**4 attacks in 2 areas: 1 held, 2 broke, 1 not run.**" in report
    assert "## tests.unit.test_accounts" in report
    assert (
        "| common passwords | **broke (1 of 2)**: AssertionError: DID NOT RAISE | `test_common` |"
        in report
    )
    assert "without an `Attack: ...` docstring (shown by name): `test_lockout`" in report


def test_docstrings_are_read_from_the_test_modules():
    assert docstring_of("tests.unit.test_audit", "test_truncating_the_tail_is_detected") == (
        "Attack: truncate the audit trail to its first event."
    )
    assert docstring_of("tests.unit.no_such_module", "test_x") == ""
