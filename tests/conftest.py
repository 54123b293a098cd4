"""Shared fixtures: a private knowledge base per test (copied from one built once per
session where the content is the same), one real embedding model per session."""

from __future__ import annotations

import hashlib
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
# The small base most page tests and the live-call journey start from: the lost-card
# procedure in English (Word) and Chinese (PDF), one person per role.
APP_FILES = (GOOD / "procedure.docx", GOOD / "zh_procedure.pdf")
APP_USERS = (
    ("ana", "agent", "agent-passphrase"),
    ("kim", "knowledge", "knowledge-pass"),
    ("tia", "trainer", "trainer-pass"),
)

# Scans read by OCR (tests/fixtures/scans, made by tools/make_scans.py): the scanned rate
# sheet (fees on page 2), a mixed PDF (page 1 text, page 2 scanned), a Simplified Chinese PNG.
# OCR takes seconds a page, so the OCR integration and page tests share one base built once.
SCANS = Path(__file__).parent / "fixtures" / "scans"
SCAN_FILES = tuple(
    SCANS / name
    for name in ("rate-sheet-scan.pdf", "mixed-text-and-scan.pdf", "zh-hans-remittance.png")
)


@pytest.fixture(scope="session")
def embedder():
    """The real packaged model, loaded once for the whole run."""
    from kb.embedding import create_embedder

    return create_embedder("e5")


@pytest.fixture
def settings(tmp_path: Path):
    from kb.config import Settings

    return Settings(data_dir=tmp_path / "kb")


@pytest.fixture(scope="session")
def database_url() -> str:
    """The PostgreSQL server `.ci/run` (or `make postgres`) started. In CI a missing one is a
    failure, not a skip: the postgres backend must be tested for real there."""
    url = os.environ.get("KB_DATABASE_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("KB_DATABASE_URL is unset in CI: .ci/run should have run tools/postgres.sh")
        pytest.skip("KB_DATABASE_URL is unset: start a server with `make postgres` and export it")
    return url


def postgres_settings(data_dir: Path, url: str, **overrides):
    """Settings of a base in PostgreSQL under a namespace of its own (drop it when done)."""
    import uuid

    from kb.config import Settings

    namespace = f"t{uuid.uuid4().hex[:12]}"
    return Settings(
        data_dir=data_dir,
        store="postgres",
        database_url=url,
        database_schema=namespace,
        **overrides,
    )


def drop_postgres(settings) -> None:
    from kb.database import unbind
    from kb.postgres import drop_namespace

    unbind(settings.data_dir)
    drop_namespace(settings.database_url, settings.database_schema)


@pytest.fixture(params=["local", "postgres"])
def backend_settings(request, tmp_path: Path):
    """A fresh base on each backend in turn: a test that takes it runs against both."""
    from kb.config import Settings

    if request.param == "local":
        yield Settings(data_dir=tmp_path / "kb", store="local")
        return
    built = postgres_settings(tmp_path / "kb", request.getfixturevalue("database_url"))
    yield built
    drop_postgres(built)


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
    import pickle

    from kb.config import Settings
    from kb.services import Services
    from kb.store import KnowledgeBase

    def build(data_dir: Path) -> None:
        settings = Settings(data_dir=data_dir)
        services = Services(settings, KnowledgeBase(settings, embedder))
        try:
            report = services.ingest_paths([REPO / "samples"])
        finally:
            services.close()
        (data_dir.parent / "first_report.pickle").write_bytes(pickle.dumps(report))

    template = built_once(tmp_path_factory, "samples", build)
    data_dir = copy_kb(template, tmp_path_factory.mktemp("samples-copy") / "kb")
    settings = Settings(data_dir=data_dir)
    built = Services(settings, KnowledgeBase(settings, embedder))
    built.first_report = pickle.loads((template.parent / "first_report.pickle").read_bytes())
    yield built
    built.close()


def built_once(tmp_path_factory, name: str, build) -> Path:
    """The folder `<name>/kb` that `build(folder)` fills, built once for the whole run: under
    pytest-xdist (`make test` runs two workers) the first worker to get here builds it in the
    run's shared temporary folder while the others wait on a file lock, instead of every
    worker ingesting the same files again on the same two cores. Copy it before use."""
    from filelock import FileLock

    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        data_dir = tmp_path_factory.mktemp(name) / "kb"
        build(data_dir)
        return data_dir
    shared = tmp_path_factory.getbasetemp().parent / "built-once" / name
    shared.mkdir(parents=True, exist_ok=True)
    done = shared / ".done"
    with FileLock(str(shared) + ".lock"):
        if not done.exists():
            build(shared / "kb")
            done.touch()
    return shared / "kb"


def copy_kb(template: Path, data_dir: Path) -> Path:
    """A private copy of the knowledge base in `template` at `data_dir`, with the audit key
    that lies beside it (kb.audit.default_key_file), so its sealed trail stays intact.

    Every store lives under the data folder and none records where that folder is, so a
    copy is a whole, independent knowledge base: far cheaper than parsing the files again."""
    import shutil

    from kb.audit import default_key_file

    shutil.copytree(template, data_dir)
    key = default_key_file(template / "audit.sqlite")
    if key.exists():
        shutil.copy2(key, default_key_file(data_dir / "audit.sqlite"))
    return data_dir


@pytest.fixture(scope="session")
def kb_template(tmp_path_factory, embedder):
    """`kb_template(files, users, by)`: the folder of a knowledge base with `files` ingested
    (by `by`: "cli" audits each file as `kb ingest` does) and `users` ((name, role, password),
    ...) added, built once per session for each such set. Never use it directly: give each
    test (or server) its own `copy_kb` of it."""
    from ingest.pipeline import collect_files
    from kb.config import Settings
    from kb.services import Services
    from kb.store import KnowledgeBase

    built: dict[tuple, Path] = {}

    def template(
        files: tuple[Path, ...], users: tuple[tuple[str, str, str], ...] = (), by: str | None = None
    ) -> Path:
        key = (tuple(files), tuple(users), by)
        if key not in built:

            def build(data_dir: Path) -> None:
                # Built with the defaults whatever the test that comes first has set (KB_...).
                saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("KB_")}
                try:
                    settings = Settings(data_dir=data_dir)
                finally:
                    os.environ.update(saved)
                services = Services(settings, KnowledgeBase(settings, embedder))
                try:
                    services.ingest(collect_files(list(files)), user=by)
                    for name, role, password in users:
                        services.users.add(name, role, password=password)
                finally:
                    services.close()

            digest = hashlib.sha256(repr(key).encode()).hexdigest()[:16]
            built[key] = built_once(tmp_path_factory, f"template-{digest}", build)
        return built[key]

    return template
