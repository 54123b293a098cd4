"""kb.thresholds: money amounts asked about, the conditions sentences state on money, and
the headline that prefers the condition the asked amount meets (kb.answer.best_sentences)."""

import math

from kb.answer import best_sentences
from kb.lexical import tokenize
from kb.thresholds import Bound, amounts, applies, bounds, smallest_ceiling
from kb.types import Category, Chunk, ChunkKind, DocumentInfo, Hit


def test_amounts_read_symbols_scales_and_chinese_units():
    assert amounts("and if the customer wants £300?") == [300.0]
    assert amounts("customer wants to send £60k, or $1.5m") == [60000.0, 1500000.0]
    assert amounts("客户要在分行汇款6万英镑去国外") == [60000.0]
    assert amounts("call 0800 123 456 on 24 December") == []


def test_bounds_say_which_side_an_amount_limits():
    assert bounds("单笔£50,000及以上的，还须经值班经理批准。") == [Bound(50000.0, math.inf)]
    assert bounds("Customer Resolution Team case handler: up to £500.") == [Bound(-math.inf, 500.0)]
    assert bounds("Team leader — Maximum goodwill per complaint: £150") == [Bound(-math.inf, 150.0)]
    assert bounds("who signs off redress between £2,000 and £10,000") == [Bound(2000.0, 10000.0)]
    assert bounds("Payments over £25,000 need a call back.") == [Bound(25000.0, math.inf)]
    assert bounds("The fee is £15, and the overseas bank may add its own charges.") == []


def test_every_floor_reached_and_only_the_smallest_ceiling_apply():
    rows = [bounds(f"{who} — Maximum goodwill per complaint: £{cap}")
            for who, cap in (("Agent", 50), ("Team leader", 150), ("Handler", 500), ("Manager", "2,000"))]  # fmt: skip
    lowest = smallest_ceiling(rows, 300.0)
    assert lowest == 500.0
    assert [applies(r, 300.0, lowest) for r in rows] == [False, False, True, False]
    floors = [bounds("£10,000及以上须出示身份证件"), bounds("£50,000及以上须值班经理批准")]
    assert [applies(f, 60000.0, math.inf) for f in floors] == [True, True]
    assert [applies(f, 20000.0, math.inf) for f in floors] == [True, False]


def _chunk(text: str) -> Chunk:
    info = DocumentInfo("limits", 1, "Payment limits", "limits.docx", "docx", "zh",
                        Category.POLICY, None, None, ("everyone",))  # fmt: skip
    return Chunk("limits:v1:0", info, 0, ChunkKind.TEXT, text, ("四、限额",), (1,), "zh", "h")


def test_the_headline_quotes_the_condition_the_asked_amount_meets():
    text = (
        "四、限额\n通过电话银行办理的转账每日上限为£10,000。"
        "分行柜台办理国际汇款不设金额上限，但单笔£10,000及以上的，客户须出示带照片的身份证件；"
        "单笔£50,000及以上的，还须经值班经理批准。"
    )
    question = "客户要在分行汇款6万英镑去国外，需要办什么额外手续？"
    chosen = [s for s, _ in best_sentences([Hit(_chunk(text), 0.03)], tokenize(question),
                                           question=question)]  # fmt: skip
    assert any("值班经理批准" in s for s in chosen)
    small = "客户要在分行汇款2万英镑去国外，需要办什么额外手续？"
    chosen = [s for s, _ in best_sentences([Hit(_chunk(text), 0.03)], tokenize(small),
                                           question=small)]  # fmt: skip
    assert not any("值班经理批准" in s for s in chosen)
