"""The restricted gap language by language (kb.domain.language_gap) and the scope means' run
sums (kb.domain.RunSums). Pure."""

from __future__ import annotations

import numpy as np
import pytest

from kb.domain import RunSums, language_gap


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


def _rows_and_owners(seed: int = 7) -> tuple:
    """10,000 unit-ish float32 rows in runs of 1-900 rows per owner (runs cross the
    4,096-row blocks RunSums.of converts at a time); an owner may come back later."""
    rng = np.random.default_rng(seed)
    stored = rng.normal(size=(10_000, 16)).astype(np.float32)
    stored /= np.linalg.norm(stored, axis=1, keepdims=True)
    lengths = rng.integers(1, 900, size=60)
    owners = np.repeat(np.arange(60) % 37, lengths)[:10_000]
    owners = np.r_[owners, np.full(10_000 - len(owners), 99)]
    return stored, owners


def test_run_sums_give_the_mean_of_the_rows_of_whole_runs():
    stored, owners = _rows_and_owners()
    sums = RunSums.of(stored, owners)
    assert int(sums.lengths.sum()) == len(stored)
    for chosen in ({0}, {3, 5, 36}, set(range(0, 37, 2)), set(range(37)) | {99}):
        positions = np.flatnonzero(np.isin(owners, list(chosen)))
        expected = stored[positions].mean(axis=0, dtype=np.float64).astype(np.float32)
        np.testing.assert_allclose(sums.mean(positions), expected, rtol=0, atol=1e-7)


def test_run_sums_refuse_part_of_a_run():
    stored, owners = _rows_and_owners()
    sums = RunSums.of(stored, owners)
    positions = np.flatnonzero(owners == 3)
    assert sums.mean(positions[:-1]) is None
    assert sums.mean(np.zeros(0, dtype=np.int64)) is None
