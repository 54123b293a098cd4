"""The Insights clustering bench (eval.insights_scale) measures what it says, without a model."""

from __future__ import annotations

import kb.insights as insights
from eval.insights_scale import one


def test_capped_and_whole_clustering_find_the_same_subjects(monkeypatch) -> None:
    monkeypatch.setattr(insights, "MAX_CLUSTERED", 50)  # rounds: 50 at a time
    capped = one(400, everything=False)
    whole = one(400, everything=True)
    assert capped["topics"] == whole["topics"] == 60
    assert capped["largest"] == whole["largest"]
