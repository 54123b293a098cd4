"""Shared fixtures: a private knowledge base per test, one real embedding model per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")

DATA = Path(__file__).parent / "data"
GOOD = DATA / "good"
BAD = DATA / "bad"
REPO = Path(__file__).parent.parent


@pytest.fixture(scope="session")
def embedder():
    """The real packaged model, loaded once for the whole run."""
    from kb.embedding import create_embedder

    return create_embedder("e5")


@pytest.fixture
def settings(tmp_path: Path):
    from kb.config import Settings

    return Settings(data_dir=tmp_path / "kb")


@pytest.fixture
def services(settings, embedder):
    from kb.services import Services
    from kb.store import KnowledgeBase

    built = Services(settings, KnowledgeBase(settings, embedder))
    yield built
    built.close()


@pytest.fixture(scope="session")
def sample_services(tmp_path_factory, embedder):
    """The sample bank's knowledge base, ingested once for the session (read-only use)."""
    from kb.config import Settings
    from kb.services import Services
    from kb.store import KnowledgeBase

    settings = Settings(data_dir=tmp_path_factory.mktemp("samples") / "kb")
    built = Services(settings, KnowledgeBase(settings, embedder))
    built.first_report = built.ingest_paths([REPO / "samples"])
    yield built
    built.close()
