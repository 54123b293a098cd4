"""The clustering metrics behind eval/reports/gaps.md."""

from __future__ import annotations

import pytest

from eval.gaps import inverse_purity, pairwise, purity


def test_perfect_clustering_scores_one():
    clusters = [["a", "a"], ["b", "b", "b"]]
    assert purity(clusters) == inverse_purity(clusters) == 1.0
    assert pairwise(clusters) == {"precision": 1.0, "recall": 1.0, "f1": 1.0}


def test_one_big_cluster_is_complete_but_impure():
    clusters = [["a", "a", "b", "b"]]
    assert purity(clusters) == 0.5 and inverse_purity(clusters) == 1.0
    scores = pairwise(clusters)
    assert scores["recall"] == 1.0 and scores["precision"] == pytest.approx(2 / 6)


def test_singletons_are_pure_but_split():
    clusters = [["a"], ["a"], ["b"]]
    assert purity(clusters) == 1.0 and inverse_purity(clusters) == pytest.approx(2 / 3)
    assert pairwise(clusters) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
