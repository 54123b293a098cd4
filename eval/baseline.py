"""The baseline a team would build from the LangChain tutorial, scored like our pipeline.

RecursiveCharacterTextSplitter (1000 characters, 200 overlap) over each document's text,
LangChain's FAISS store, and the same embedding model we use: no structure, no lexical
search, no filters. The text comes from our own parser, so the comparison is about what
happens after parsing. Having no filters, it shows restricted documents to everyone; the
report counts that too.
"""

from __future__ import annotations

from pathlib import Path

from eval.golden import GoldQuestion
from eval.run import Found
from ingest.load import load_document
from ingest.pipeline import collect_files, document_id_for
from kb.conversation import resolve_question
from kb.embedding import LangChainEmbeddings
from kb.ports import Embedder
from kb.types import EVERYONE


class TutorialBaseline:
    def __init__(self, samples: Path, embedder: Embedder, max_bytes: int = 50_000_000) -> None:
        from langchain_community.vectorstores import FAISS
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        texts: list[str] = []
        metadatas: list[dict] = []
        for upload in collect_files([samples]):
            assert upload.path is not None
            parsed = load_document(upload.path, max_bytes=max_bytes)
            groups = (
                upload.options.groups if upload.options and upload.options.groups else (EVERYONE,)
            )
            body = "\n\n".join(block.text for block in parsed.blocks)
            for piece in splitter.split_text(body):
                texts.append(piece)
                metadatas.append(
                    {"document_id": document_id_for(upload.name), "groups": list(groups)}
                )
        self.store = FAISS.from_texts(texts, LangChainEmbeddings(embedder), metadatas=metadatas)
        self.chunks = len(texts)

    def search(self, question: GoldQuestion, k: int = 10) -> list[Found]:
        text = resolve_question(question.text, question.history)
        documents = self.store.similarity_search(text, k=k)
        return [
            Found(d.metadata["document_id"], None, tuple(d.metadata["groups"])) for d in documents
        ]
