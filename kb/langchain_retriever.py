"""The knowledge base as a LangChain retriever, for teams that build chains and agents.

Same hybrid search, same filters: a chain built on it can never see a document its user's
groups may not see.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from kb.store import chunk_metadata
from kb.types import EVERYONE, Category, Query


class KnowledgeBaseRetriever(BaseRetriever):
    """`KnowledgeBaseRetriever(services=build_services(settings), groups=("fraud-team",))`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    services: Any
    groups: tuple[str, ...] = (EVERYONE,)
    category: Category | None = None
    as_of: dt.date | None = None
    k: int = 5

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        hits = self.services.retrieve(
            Query(
                text=query, groups=self.groups, category=self.category, as_of=self.as_of, k=self.k
            )
        )
        return [
            Document(
                page_content=hit.chunk.text,
                metadata={
                    **chunk_metadata(hit.chunk),
                    "score": hit.score,
                    "status": hit.status.value,
                },
                id=hit.chunk.chunk_id,
            )
            for hit in hits
        ]
