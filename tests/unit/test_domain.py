"""The restricted gap language by language (kb.domain.language_gap). Pure."""

from __future__ import annotations

import pytest

from kb.domain import language_gap


def test_an_unreadable_passage_is_compared_with_readable_ones_in_its_own_language():
    # A Chinese question about the English fraud playbook: e5 puts it nearer to any Chinese
    # passage (0.90) than to the playbook (0.85), but the playbook is nearer than every
    # readable English passage (0.82).
    outside = {"en": 0.85}
    inside = {"en": 0.82, "zh": 0.90}
    assert language_gap(outside, inside, best_inside=0.90) == pytest.approx(0.03)


def test_no_gap_when_a_readable_passage_in_that_language_is_nearer():
    assert language_gap({"en": 0.85}, {"en": 0.87, "zh": 0.80}, best_inside=0.87) == 0.0


def test_the_largest_language_gap_counts():
    outside = {"en": 0.86, "zh": 0.93}
    inside = {"en": 0.85, "zh": 0.88}
    assert language_gap(outside, inside, best_inside=0.88) == pytest.approx(0.05)


def test_a_language_the_asker_reads_nothing_in_is_compared_with_the_best_readable():
    assert language_gap({"mixed": 0.9}, {}, best_inside=0.86) == pytest.approx(0.04)
    assert language_gap({"mixed": 0.8}, {}, best_inside=0.86) == 0.0


def test_nothing_unreadable_is_no_gap():
    assert language_gap({}, {"en": 0.9}, best_inside=0.9) == 0.0
