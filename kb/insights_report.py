"""The Insights page's one call: logged questions and feedback for a period, turned into
knowledge gaps (clustered), document health and daily trends.

It sits between the stores (kb.querylog, kb.feedback, the registry) and the pure functions in
kb.insights, and keeps the embeddings it has computed: the same failing questions come back
every time the page is opened, and the reference questions are embedded once per process.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from kb.feedback import Feedback
from kb.insights import (
    DayTrend,
    DocumentHealth,
    GapQuestion,
    GapTopic,
    cluster_gaps,
    document_health,
    failing_questions,
    question_vectors,
    reference_vectors,
    trends,
)
from kb.querylog import LoggedQuestion
from kb.types import DocumentRecord


@dataclass(frozen=True)
class InsightsReport:
    since: dt.date
    until: dt.date
    questions: int  # asked in the period
    gaps: tuple[GapQuestion, ...]  # refused, low-confidence or not helpful
    topics: tuple[GapTopic, ...]
    health: tuple[DocumentHealth, ...]
    trends: tuple[DayTrend, ...]


def _in_period(at: str, since: dt.date, until: dt.date) -> bool:
    return since <= dt.datetime.fromisoformat(at).astimezone(dt.UTC).date() <= until


class InsightsBuilder:
    """Builds reports with one embedding per distinct question text, ever (per process)."""

    def __init__(self, embed_query: Callable[[str], np.ndarray]) -> None:
        self.embed_query = embed_query
        self._vectors: dict[str, np.ndarray] = {}
        self._reference: dict[str, np.ndarray] | None = None
        self._lock = threading.Lock()  # Streamlit sessions share one builder

    def _embed(self, text: str) -> np.ndarray:
        if text not in self._vectors:
            self._vectors[text] = np.asarray(self.embed_query(text), dtype=np.float64)
        return self._vectors[text]

    def vectors(self, questions: Sequence[GapQuestion]) -> np.ndarray:
        with self._lock:
            if self._reference is None:
                self._reference = reference_vectors(self.embed_query)
            return question_vectors(questions, self._embed)

    def build(
        self,
        logged: Sequence[LoggedQuestion],
        feedback: Sequence[Feedback],
        documents: Sequence[DocumentRecord],
        since: dt.date,
        until: dt.date,
        today: dt.date,
    ) -> InsightsReport:
        feedback = [f for f in feedback if _in_period(f.at, since, until)]
        gaps = failing_questions(logged, feedback)
        topics = cluster_gaps(gaps, self.vectors(gaps), reference=self._reference) if gaps else []
        return InsightsReport(
            since=since,
            until=until,
            questions=len(logged),
            gaps=tuple(gaps),
            topics=tuple(topics),
            health=tuple(document_health(documents, logged, feedback, today)),
            trends=tuple(trends(logged, feedback)),
        )
