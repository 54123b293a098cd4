"""Which stated threshold an asked amount falls under. Pure.

Policies answer amounts with thresholds: "Team leader — Maximum goodwill per complaint: £150",
"Customer Resolution Team case handler: up to £500", "单笔£50,000及以上的，还须经值班经理批准".
An agent asks with the customer's amount ("and if the customer wants £300?", "客户要在分行
汇款6万英镑"). The words of such a question match every row of the table alike, so the
headline quoted the £50 and £150 rows and never the one that applies. This module reads the
money amounts of a question and the conditions a sentence states on money, so the headline
can prefer the sentences whose condition the asked amount meets (kb.answer.best_sentences):
every floor it reaches ("£10,000 and above" and "£50,000 and above" both apply to £60,000),
and of the ceilings only the smallest it stays under (for £300, "up to £500" is the answer,
"up to £2,000" the next level up).

Only money is read (£, $, €, HK$, 英镑, 港元, 元), and only where a sentence says which side
the amount bounds; a bare amount ("the fee is £15") is no threshold.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_NUMBER = r"\d(?:[\d,]*\d)?(?:\.\d+)?"
_MONEY = re.compile(
    rf"(?:£|HK\$|HKD\s?|US\$|\$|€)\s?(?P<a>{_NUMBER})(?:\s?(?P<ak>(?:k|m|million)\b|万|萬)|(?!\d))"
    rf"|(?P<b>{_NUMBER})\s?(?P<bk>(?:k|m|million)\b|万|萬)?\s?(?:英镑|英鎊|港元|港币|港幣|元|pounds?\b)",
    re.I,
)
_SCALE = {"k": 1e3, "m": 1e6, "million": 1e6, "万": 1e4, "萬": 1e4}


@dataclass(frozen=True)
class Bound:
    """One condition a sentence states: an amount of money between `low` and `high`."""

    low: float
    high: float

    def holds(self, amount: float) -> bool:
        return self.low <= amount <= self.high

    @property
    def is_ceiling(self) -> bool:
        return math.isinf(self.low) and not math.isinf(self.high)


def _value(match: re.Match[str]) -> float:
    digits = match.group("a") or match.group("b")
    scale = (match.group("ak") or match.group("bk") or "").lower()
    return float(digits.replace(",", "")) * _SCALE.get(scale, 1.0)


def amounts(text: str) -> list[float]:
    """The money amounts written in `text` ("£300", "£60k", "6万英镑" = 60,000)."""
    return [_value(m) for m in _MONEY.finditer(text)]


_FLOOR_AFTER = re.compile(
    r"^\s*(?:and|or)\s+(?:above|over|more)\b|^\s*\+|^\s*(?:及|或)?以上|^\s*(?:或)?更多"
)
_FLOOR_BEFORE = re.compile(
    r"(?:\b(?:above|over|more than|exceeding|exceeds|in excess of|at least)\s*$"
    r"|(?:超过|超過|高于|高於|逾|至少)\s*$)",
    re.I,
)
_CEILING_BEFORE = re.compile(
    r"(?:\b(?:up to|maximum|max|at most|no more than|not more than|limit of|limited to|"
    r"under|below|less than|within)\b[^.;:£$€\d]{0,40}[:：]?\s*$"
    r"|(?:最多|最高|上限为?|上限為?|不超过|不超過|低于|低於|以内|以內)\s*[:：]?\s*$)",
    re.I,
)
_CEILING_AFTER = re.compile(r"^\s*(?:or less|or under|and below|以下|以内|以內)", re.I)
_BETWEEN = re.compile(
    rf"between\s+(?P<x>(?:£|\$|€|HK\$)\s?{_NUMBER}\s?(?:k|m)?)\s+and\s+"
    rf"(?P<y>(?:£|\$|€|HK\$)\s?{_NUMBER}\s?(?:k|m)?)",
    re.I,
)


def bounds(sentence: str) -> list[Bound]:
    """The conditions `sentence` states on money: "£50,000及以上" is [50,000, inf),
    "up to £500" and "Maximum goodwill per complaint: £500" are (-inf, 500], "between £2,000
    and £10,000" is [2,000, 10,000]. A bare amount states none."""
    found: list[Bound] = []
    spans: list[tuple[int, int]] = []
    for match in _BETWEEN.finditer(sentence):
        x, y = amounts(match.group("x")), amounts(match.group("y"))
        if x and y:
            found.append(Bound(min(x[0], y[0]), max(x[0], y[0])))
            spans.append(match.span())
    for match in _MONEY.finditer(sentence):
        if any(a <= match.start() < b for a, b in spans):
            continue
        value = _value(match)
        before, after = sentence[: match.start()], sentence[match.end() :]
        if _FLOOR_AFTER.search(after) or _FLOOR_BEFORE.search(before):
            found.append(Bound(value, math.inf))
        elif _CEILING_BEFORE.search(before[-60:]) or _CEILING_AFTER.search(after):
            found.append(Bound(-math.inf, value))
    return found


def applies(sentence_bounds: list[Bound], asked: float, smallest_ceiling: float) -> bool:
    """Whether a sentence states a condition that `asked` meets: a floor it reaches, a range
    it lies in, or the smallest ceiling among the candidates that it stays under."""
    for bound in sentence_bounds:
        if not bound.holds(asked):
            continue
        if bound.is_ceiling and bound.high > smallest_ceiling:
            continue
        return True
    return False


def smallest_ceiling(all_bounds: list[list[Bound]], asked: float) -> float:
    """The lowest ceiling over every candidate sentence that `asked` stays under (inf if none)."""
    return min(
        (b.high for bs in all_bounds for b in bs if b.is_ceiling and b.holds(asked)),
        default=math.inf,
    )
