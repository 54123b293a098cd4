"""The one Settings object. Built once at the edge (CLI, app, tests) and passed down.

Nothing else reads the environment. Every field can be set as `KB_<NAME>` in the environment.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KB_", frozen=True, extra="ignore")

    data_dir: Path = Field(
        default=Path("data/kb"),
        description="Where this knowledge base lives; several can sit side by side.",
    )
    embedding_model: str = Field(
        default="minilm",
        description="Embedding backend by name: 'minilm' (English) or 'e5' (multilingual).",
    )
    embedding_batch_size: int = Field(default=32, gt=0)
    max_file_mb: float = Field(default=50.0, gt=0, description="Larger files are refused.")
    chunk_max_chars: int = Field(
        default=900, ge=200, description="Target passage size; CJK characters count double."
    )
    procedure_max_chars: int = Field(
        default=2400,
        ge=400,
        description="A numbered procedure longer than this is split at step boundaries.",
    )
    lock_timeout_seconds: float = Field(default=600.0, gt=0)
    keep_index_generations: int = Field(default=2, ge=1)

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def registry_path(self) -> Path:
        return self.data_dir / "registry.sqlite"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def originals_dir(self) -> Path:
        """Copies of ingested files, by content hash, so agents can open the original."""
        return self.data_dir / "originals"

    @property
    def lock_path(self) -> Path:
        return self.data_dir / ".ingest.lock"
