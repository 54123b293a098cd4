"""Optional cross-encoder reranking, from a local folder an operator configures.

No PyPI package ships reranker weights (../shared/OFFLINE.md), so the default pipeline has
none; a bank that has one on disk sets KB_RERANKER_PATH. Loaded lazily, by path, offline.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from kb.errors import ConfigError
from kb.lazy import Lazy


class CrossEncoderReranker:
    def __init__(self, path: Path) -> None:
        if not path.is_dir():
            raise ConfigError(
                f"reranker_path must be a folder with a cross-encoder model. Currently, it is {path}"
            )
        self.path = path
        self._model = Lazy(self._build)

    def _build(self):  # type: ignore[no-untyped-def]
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import CrossEncoder

        return CrossEncoder(str(self.path), device="cpu", local_files_only=True)

    def score(self, question: str, passages: Sequence[str]) -> list[float]:
        if not passages:
            return []
        scores = self._model.get().predict(
            [(question, p) for p in passages], show_progress_bar=False
        )
        return [float(s) for s in scores]
