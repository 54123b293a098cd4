"""Optional cross-encoder reranking, from a local folder an operator configures.

No PyPI package ships reranker weights (../shared/OFFLINE.md), so the default pipeline has
none; a bank that has one on disk sets KB_RERANKER_PATH. Loaded lazily, by path, offline.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

from kb.errors import ConfigError


class CrossEncoderReranker:
    def __init__(self, path: Path) -> None:
        if not path.is_dir():
            raise ConfigError(
                f"reranker_path must be a folder with a cross-encoder model. Currently, it is {path}"
            )
        self.path = path
        self._model = None
        self._lock = threading.Lock()

    def _load(self):  # type: ignore[no-untyped-def]
        if self._model is None:
            with self._lock:
                if self._model is None:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                    from sentence_transformers import CrossEncoder

                    self._model = CrossEncoder(str(self.path), device="cpu", local_files_only=True)
        return self._model

    def score(self, question: str, passages: Sequence[str]) -> list[float]:
        if not passages:
            return []
        scores = self._load().predict([(question, p) for p in passages], show_progress_bar=False)
        return [float(s) for s in scores]
