"""The tutorial LangChain pipeline the benchmark compares against, and its tiny FastAPI wrapper.

What a user would otherwise build: read the files, `RecursiveCharacterTextSplitter(1000, 200)`,
`FAISS.from_documents`, then `similarity_search(q, k=5)` with the top passages joined into an
answer. It embeds with the same all-MiniLM-L6-v2 as ours, through `as_langchain_embeddings`.
`langchain-community` is a benchmark-only dependency (`pip install -e '.[bench]'`).
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from bench.errors import BenchInputError
from ingest.loaders import IGNORED_NAMES

if TYPE_CHECKING:
    from langchain_core.documents import Document
    from langchain_core.embeddings import Embeddings

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200
TOP_K = 5
TEXT_SUFFIXES = {".md", ".markdown", ".txt"}


def _faiss() -> Any:
    """`langchain_community`'s FAISS store, imported without its sunset notice turning into an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            from langchain_community.vectorstores import FAISS
        except ImportError:
            raise BenchInputError("the naive pipeline needs langchain-community: pip install -e '.[bench]'") from None
    return FAISS


def naive_documents(paths: Sequence[Path]) -> list[Document]:
    """Documents the way the tutorial reads them: each text file whole, each JSONL record whole."""
    from langchain_core.documents import Document

    files: list[Path] = []
    for path in paths:
        files.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    docs: list[Document] = []
    for file in files:
        if file.name.lower() in IGNORED_NAMES:
            continue
        if file.suffix.lower() in TEXT_SUFFIXES:
            docs.append(Document(page_content=file.read_text(encoding="utf-8"), metadata={"source": str(file)}))
        elif file.suffix.lower() == ".jsonl":
            with file.open(encoding="utf-8") as handle:
                for line in handle:
                    if line.strip():
                        record = json.loads(line)
                        metadata = {"source": str(file), "doc_id": record.get("doc_id"), "title": record.get("title")}
                        docs.append(Document(page_content=str(record["text"]), metadata=metadata))
    if not docs:
        raise BenchInputError(f"no documents for the naive pipeline under {', '.join(map(str, paths))}")
    return docs


class NaivePipeline:
    """A LangChain FAISS store answered by joining the top passages."""

    def __init__(self, store: Any) -> None:
        self.store = store

    @classmethod
    def build(cls, documents: Sequence[Document], embeddings: Embeddings) -> tuple[NaivePipeline, int]:
        """Split and embed the documents; returns the pipeline and its chunk count."""
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
        chunks = splitter.split_documents(list(documents))
        return cls(_faiss().from_documents(chunks, embeddings)), len(chunks)

    @classmethod
    def load(cls, folder: Path, embeddings: Embeddings) -> NaivePipeline:
        """A store written by `save` (our own file, so its pickle is trusted)."""
        return cls(_faiss().load_local(str(folder), embeddings, allow_dangerous_deserialization=True))

    def save(self, folder: Path) -> None:
        """Write the FAISS index and its docstore to `folder`."""
        self.store.save_local(str(folder))

    def search(self, question: str, k: int = TOP_K) -> list[Document]:
        """The k nearest chunks."""
        docs: list[Document] = self.store.similarity_search(question, k=k)
        return docs

    def ask(self, question: str, k: int = TOP_K) -> dict[str, Any]:
        """The tutorial's answer: the top passages joined, with their sources."""
        docs = self.search(question, k=k)
        return {
            "answer": "\n\n".join(d.page_content for d in docs),
            "sources": [d.metadata.get("source") for d in docs],
        }


class NaiveAskBody(BaseModel):
    """The naive app's request body."""

    question: str


def create_naive_app(index_dir: Path, *, embeddings: Callable[[], Embeddings] | None = None) -> FastAPI:
    """The naive pipeline in FastAPI, loaded at start-up as the tutorials do (tests pass fake `embeddings`)."""

    def packaged_model() -> Embeddings:
        from ingest import SentenceTransformerEmbedder, as_langchain_embeddings

        return as_langchain_embeddings(SentenceTransformerEmbedder())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        started = time.perf_counter()
        app.state.pipeline = NaivePipeline.load(index_dir, (embeddings or packaged_model)())
        app.state.pipeline.ask("bone metastasis")  # same warm-up query as ours
        app.state.load_seconds = time.perf_counter() - started
        yield

    app = FastAPI(title="naive langchain pipeline", lifespan=lifespan)

    @app.get("/readyz")
    def readyz(request: Request) -> JSONResponse:
        ready = getattr(request.app.state, "pipeline", None) is not None
        return JSONResponse({"status": "ready" if ready else "loading"}, status_code=200 if ready else 503)

    @app.post("/v1/ask")
    def ask(body: NaiveAskBody, request: Request) -> dict[str, Any]:
        answer: dict[str, Any] = request.app.state.pipeline.ask(body.question)
        return answer

    return app
