"""Onboarding errors, with messages a trainer can act on (shown with `st.error`)."""

from __future__ import annotations

from kb.errors import KBError


class TrainingError(KBError):
    """Base of the onboarding feature's errors."""


class UnknownExerciseError(TrainingError):
    """No exercise has this id (it may never have been generated, or was typed wrongly)."""


class ExerciseNotApprovedError(TrainingError):
    """A learning path may only use exercises a trainer has approved."""


class UnknownPathError(TrainingError):
    """No learning path has this id."""


class InvalidEditError(TrainingError):
    """A trainer's edit would break the exercise (no blank, an answer not in the source...)."""


class DataSetError(TrainingError):
    """The customer-message data set is missing or not in the expected layout."""
