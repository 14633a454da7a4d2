"""Load guideline documents from Markdown, text, HTML, PDF and JSONL records.

Every loader returns `Document`s whose `text` is the exact string later chunked: chunk offsets
point into it. Markdown keeps its headings (the chunker follows them); HTML is rendered to the
same Markdown-like shape; PDF and plain text become heading-less records.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ingest.errors import LoaderError, UnsupportedFileError
from ingest.excluded import drop_excluded_sections
from ingest.metadata import apply_stated, file_fingerprint, is_metadata_file, stated_metadata

MARKDOWN_SUFFIXES = {".md", ".markdown"}
TEXT_SUFFIXES = {".txt"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
JSONL_SUFFIXES = {".jsonl"}
SUPPORTED_SUFFIXES = MARKDOWN_SUFFIXES | TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES | JSONL_SUFFIXES
# Files that describe a folder rather than being guideline content.
IGNORED_NAMES = {"readme.md", "license", "license.md", ".gitkeep"}

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


@dataclass(frozen=True)
class PageMark:
    """Where a page of a paginated source begins in `Document.text`."""

    start: int
    number: int
    """1-based position of the page in the file (what `#page=N` opens)."""
    label: str
    """The page number printed on the page ("13", "iv"); the position when the page prints none."""


@dataclass
class DocumentReport:
    """What a loader found in a document, for the per-document summary that ends an ingest."""

    pages: int | None = None
    headings: int = 0
    recommendations: int = 0
    tables: int = 0
    excluded: list[str] = field(default_factory=list)
    """Pages left out of the text, as "p. 41-44 (references)"."""
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Document:
    """One source document, ready to chunk.

    `structured` tells the chunker to follow Markdown headings; otherwise it splits by sentences.
    """

    doc_id: str
    text: str
    title: str
    source: str
    structured: bool
    issuing_body: str | None = None
    year: int | None = None
    topic: str | None = None
    url: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    """Guideline label ("CCO/ASCO 2017") -> URL of that guideline, for documents that summarise several."""
    pages: tuple[PageMark, ...] = ()
    """Page starts of a paginated source (PDF), in order; empty for sources without pages."""
    report: DocumentReport | None = field(default=None, compare=False)
    """What the loader found (not part of the content hash)."""

    @property
    def content_hash(self) -> str:
        """Hash of everything that changes the chunks or their metadata."""
        fields: list[Any] = [
            self.doc_id,
            self.text,
            self.title,
            self.issuing_body,
            self.year,
            self.topic,
            self.url,
            self.structured,
            self.metadata,
            self.sources,
        ]
        if self.pages:  # only paginated sources: every other document keeps the hash it had
            fields.append([(p.start, p.number, p.label) for p in self.pages])
        payload = json.dumps(
            fields,
            sort_keys=True,
            ensure_ascii=False,
            default=str,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass
class LoadResult:
    """What loading a set of paths produced: documents, skipped files and per-file errors."""

    documents: list[Document] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    errors: list[LoaderError] = field(default_factory=list)
    files: dict[str, tuple[str, str]] = field(default_factory=dict)
    """doc_id -> (the file it was loaded from, that file's fingerprint)."""
    unchanged_files: dict[str, str] = field(default_factory=dict)
    """Files not parsed because their fingerprint matched a known one: path -> fingerprint."""


def _year(value: Any, path: Path) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(str(value).strip()[:4])
    except ValueError:
        raise LoaderError(path, f"front matter 'year' is not a year: {value!r}") from None


# Front matter written for other tools names the issuing body and the year in their words ("publisher:
# NCI", "date: 2023-05-01", "citation: NCI, 2025"); the project's own keys win over these.
BODY_KEYS = ("publisher", "organization", "organisation", "source", "author")
YEAR_KEYS = ("date", "published", "date_published", "datePublished")
_NAME_LIKE = re.compile(r"^[A-Za-z][\w&.,'()/ -]{0,79}$")
_CITED_YEAR = re.compile(r"\b((?:19|20)\d{2})\s*\.?\s*$")


def front_matter_body(meta: dict[str, Any]) -> str | None:
    """The issuing body a front matter written for another tool gives: its first of `BODY_KEYS` that reads as a
    name (at most eight words, not a URL or a path: "source: https://..." is where the text came from)."""
    for key in BODY_KEYS:
        value = meta.get(key)
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        name = value.strip() if isinstance(value, str) else ""
        # A slash only between initials ("CCO/ASCO"): "www.x.org/guidance" is a path.
        slash_ok = "/" not in name or re.fullmatch(r"[A-Z]+(?:/[A-Z]+)+", name)
        if name and _NAME_LIKE.match(name) and len(name.split()) <= 8 and slash_ok:
            return name
    return None


def front_matter_year(meta: dict[str, Any]) -> int | None:
    """The year a front matter written for another tool gives: its first of `YEAR_KEYS` ("2023-05-01"), else
    the year a `citation` ends with ("NCI, 2025"). A value that is no date is ignored, not an error: these keys
    are not the project's."""
    for key in YEAR_KEYS:
        value = meta.get(key)
        text = str(value).strip() if value is not None else ""
        if re.match(r"(?:19|20)\d{2}\b", text):
            return int(text[:4])
    citation = meta.get("citation")
    if isinstance(citation, str) and (match := _CITED_YEAR.search(citation)):
        return int(match.group(1))
    return None


def _first_heading(text: str) -> str | None:
    match = re.search(r"^#\s+(.+?)\s*#*\s*$", text, re.MULTILINE)
    return match.group(1) if match else None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise LoaderError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise LoaderError(path, exc.strerror or str(exc)) from None


_MD_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)")
# Link text may hold one level of brackets: NCI PDQ writes "[[Level of evidence: I]](/Common/...)".
_MD_LINK = re.compile(r"\[((?:[^\[\]\n]|\[[^\[\]\n]*\])*)\]\([^)\s]+(?:\s+\"[^\"\n]*\")?\)")


# A line that is nothing but a link ("[Go to Patient Version](/types/...)") is a page's navigation, not its text.
_MD_LINK_LINE = re.compile(rf"^[ \t]*(?:[-*+][ \t]+)?{_MD_LINK.pattern}[ \t]*$", re.MULTILINE)


def unlink_markdown(text: str) -> str:
    """Markdown links read as their text and images dropped: `[12](#cit/1.12)` -> `12`, a URL never in an answer.
    A line holding only a link is navigation ("Go to Patient Version") and is emptied."""
    return _MD_LINK.sub(r"\1", _MD_LINK_LINE.sub("", _MD_IMAGE.sub("", text)))


def load_markdown(path: Path, doc_id: str) -> Document:
    """A Markdown file, with optional YAML front matter (title, issuing_body, year, topic, url, sources)."""
    raw = _read_text(path)
    meta: dict[str, Any] = {}
    body = raw
    match = _FRONT_MATTER.match(raw)
    if match:
        try:
            loaded = yaml.safe_load(match.group(1))
        except yaml.YAMLError as exc:
            raise LoaderError(path, f"front matter is not valid YAML: {exc}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise LoaderError(path, "front matter must be a mapping of keys to values")
        meta = dict(loaded or {})
        body = raw[match.end() :]
    elif raw.startswith("---"):
        raise LoaderError(path, "front matter opened with '---' but never closed")
    body = unlink_markdown(body)
    if not body.strip():
        raise LoaderError(path, "document has no text")
    body, excluded = _without_excluded_sections(path, body)
    title = str(meta.pop("title", None) or _first_heading(body) or path.stem)
    issuing_body = meta.pop("issuing_body", None) or front_matter_body(meta)
    year = _year(meta.pop("year", None), path) or front_matter_year(meta)
    topic = meta.pop("topic", None)
    url = meta.pop("url", None)
    sources = _sources(meta.pop("sources", None), path)
    return Document(
        doc_id=doc_id,
        text=body,
        title=title,
        source=str(path),
        structured=True,
        issuing_body=str(issuing_body) if issuing_body else None,
        year=year,
        topic=str(topic) if topic else None,
        url=str(url) if url else None,
        metadata={k: v for k, v in meta.items() if isinstance(v, str | int | float | bool)},
        sources=sources,
        report=DocumentReport(excluded=excluded) if excluded else None,
    )


def _without_excluded_sections(path: Path, text: str) -> tuple[str, list[str]]:
    """Markdown text without its reference, contents (...) sections and what was left out; an error naming the
    file when nothing else is left."""
    kept, excluded = drop_excluded_sections(text)
    if not kept.strip():
        raise LoaderError(path, "no text left after leaving out its references, contents and similar sections")
    return kept, excluded


def _sources(value: Any, path: Path) -> dict[str, str]:
    """Front matter `sources`: a mapping of guideline label to URL."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise LoaderError(
            path, "front matter 'sources' must map guideline labels to URLs, e.g. {ESMO 2020: https://...}"
        )
    return {k.strip(): v.strip() for k, v in value.items()}


def load_text(path: Path, doc_id: str) -> Document:
    """A plain text file: no structure, split by sentences later."""
    text = _read_text(path)
    if not text.strip():
        raise LoaderError(path, "document has no text")
    return Document(
        doc_id=doc_id,
        text=text,
        title=path.stem.replace("_", " ").replace("-", " "),
        source=str(path),
        structured=False,
    )


def html_to_markdown(html: str) -> tuple[str, str | None]:
    """The main content of a page rendered to Markdown-like text, and its title (see ingest/html.py)."""
    from ingest.html import extract_html

    page = extract_html(html)
    return page.text, page.title


def load_html(path: Path, doc_id: str) -> Document:
    """A web page's main content (navigation, banners and footers dropped), with what its <meta> tags state."""
    from ingest.html import extract_html

    page = extract_html(_read_text(path))
    if not page.text.strip():
        raise LoaderError(path, "HTML page has no main text (only navigation, scripts or nothing at all)")
    text, excluded = _without_excluded_sections(path, page.text)
    meta = page.metadata
    year = None
    if meta.get("year", "")[:4].isdigit():
        year = int(meta["year"][:4])
    return Document(
        doc_id=doc_id,
        text=text,
        title=page.title or _first_heading(page.text) or path.stem,
        source=str(path),
        structured=True,
        issuing_body=meta.get("issuing_body") or None,
        year=year,
        url=meta.get("url") or None,
        report=DocumentReport(
            headings=page.headings,
            recommendations=page.recommendations,
            tables=page.tables,
            excluded=excluded,
            warnings=list(page.warnings),
        ),
    )


def _page_ranges(excluded: list[tuple[int, str, str]]) -> list[str]:
    """Excluded pages grouped by kind into runs: ["p. 41-44 (references)", "p. iii (contents)"]."""
    runs: list[list[tuple[int, str, str]]] = []
    for page in sorted(excluded):
        if runs and runs[-1][-1][2] == page[2] and runs[-1][-1][0] + 1 == page[0]:
            runs[-1].append(page)
        else:
            runs.append([page])
    return [f"p. {run[0][1]}" + (f"-{run[-1][1]}" if len(run) > 1 else "") + f" ({run[0][2]})" for run in runs]


def load_pdf(path: Path, doc_id: str) -> Document:
    """A PDF read in layout order (ingest/pdf): headings, tables and recommendations kept, references left out.

    Every chunk knows its pages; title and year come from the PDF's information or its cover.
    """
    from ingest.pdf import extract_pdf

    pdf = extract_pdf(path)
    if not pdf.text.strip():
        raise LoaderError(path, "no text left after removing references, contents and running headers")
    return Document(
        doc_id=doc_id,
        text=pdf.text,
        title=pdf.title or path.stem,
        source=str(path),
        structured=True,
        issuing_body=pdf.author or None,
        year=pdf.year,
        pages=tuple(PageMark(p.start, p.number, p.label) for p in pdf.pages),
        report=DocumentReport(
            pages=pdf.page_count,
            headings=pdf.headings,
            recommendations=pdf.recommendations,
            tables=pdf.tables,
            excluded=_page_ranges(pdf.excluded),
            warnings=list(pdf.warnings),
        ),
    )


RECORD_KEYS = {"doc_id", "title", "text", "source"}


def load_jsonl(path: Path) -> Iterator[Document]:
    """JSONL records `{"doc_id", "title", "text", "source", ...}`; extra keys become metadata."""
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise LoaderError(path, exc.strerror or str(exc)) from None
    seen: set[str] = set()
    with handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"line {lineno}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise LoaderError(path, f"{where}: not JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise LoaderError(path, f"{where}: a record must be a JSON object")
            missing = [k for k in ("doc_id", "text") if not record.get(k)]
            if missing:
                raise LoaderError(path, f"{where}: missing {', '.join(missing)}")
            doc_id = str(record["doc_id"])
            if doc_id in seen:
                raise LoaderError(path, f"{where}: duplicate doc_id {doc_id!r}")
            seen.add(doc_id)
            extra = {k: v for k, v in record.items() if k not in RECORD_KEYS}
            year = extra.pop("year", None)
            yield Document(
                doc_id=doc_id,
                text=str(record["text"]),
                title=str(record.get("title") or doc_id),
                source=str(record.get("source") or path),
                structured=False,
                issuing_body=str(extra.pop("issuing_body")) if extra.get("issuing_body") else None,
                year=_year(year, path),
                topic=str(extra.pop("topic")) if extra.get("topic") else None,
                url=str(extra.pop("url")) if extra.get("url") else None,
                metadata={k: v for k, v in extra.items() if isinstance(v, str | int | float | bool)},
            )


def _doc_id_for(path: Path, root: Path) -> str:
    """A stable id from the path relative to the folder given on the command line."""
    try:
        rel = path.relative_to(root)
    except ValueError:
        rel = Path(path.name)
    return rel.with_suffix("").as_posix()


def load_file(path: Path, root: Path | None = None) -> list[Document]:
    """Load one file with the loader its suffix names."""
    suffix = path.suffix.lower()
    doc_id = _doc_id_for(path, root or path.parent)
    if suffix in MARKDOWN_SUFFIXES:
        return [load_markdown(path, doc_id)]
    if suffix in TEXT_SUFFIXES:
        return [load_text(path, doc_id)]
    if suffix in HTML_SUFFIXES:
        return [load_html(path, doc_id)]
    if suffix in PDF_SUFFIXES:
        return [load_pdf(path, doc_id)]
    if suffix in JSONL_SUFFIXES:
        return list(load_jsonl(path))
    raise UnsupportedFileError(path, f"unsupported file type {suffix or '(none)'}")


def iter_files(paths: Iterable[Path]) -> Iterator[tuple[Path, Path]]:
    """Yield (file, root) for every file under the given files and folders, sorted, hidden skipped."""
    for given in paths:
        if given.is_dir():
            for path in sorted(given.rglob("*")):
                rel = path.relative_to(given)
                if path.is_file() and not any(part.startswith(".") for part in rel.parts):
                    yield path, given
        elif given.exists():
            yield given, given.parent
        else:
            raise LoaderError(given, "no such file or folder")


def load_paths(
    paths: Iterable[Path],
    *,
    strict: bool = False,
    known: Mapping[str, tuple[str, Sequence[str]]] | None = None,
) -> LoadResult:
    """Load every supported file under `paths`, with the metadata its sidecar or folder manifest states.

    Unsupported files are listed in `skipped`; broken files in `errors` (or raised with `strict`).
    Duplicate doc ids across files are an error: the later file is refused. A file whose fingerprint
    equals the one `known` gives for its path (path -> (fingerprint, its doc ids)) is not parsed again:
    it is listed in `unchanged_files`, and its documents are the caller's to reuse.
    """
    result = LoadResult()
    seen: dict[str, str] = {}
    known = known or {}
    for path, root in iter_files(paths):
        if path.name.lower() in IGNORED_NAMES or is_metadata_file(path):
            continue
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            if strict:
                raise UnsupportedFileError(path, f"unsupported file type {path.suffix or '(none)'}")
            result.skipped.append(path)
            continue
        try:
            stated, metadata_files = stated_metadata(path)
            fingerprint = file_fingerprint(path, metadata_files)
            file = str(path.resolve())  # the same file from any working folder; what the service serves
            previous = known.get(file)
            if previous is not None and previous[0] == fingerprint and not set(previous[1]) & set(seen):
                result.unchanged_files[file] = fingerprint
                for doc_id in previous[1]:
                    seen[doc_id] = file
                continue
            where = metadata_files[-1] if metadata_files else path
            docs = [apply_stated(doc, stated, where) for doc in load_file(path, root)]
            for doc in docs:
                if doc.doc_id in seen:
                    raise LoaderError(path, f"doc_id {doc.doc_id!r} already loaded from {seen[doc.doc_id]}")
        except LoaderError as exc:
            if strict:
                raise
            result.errors.append(exc)
            continue
        except OSError as exc:
            error = LoaderError(path, exc.strerror or str(exc))
            if strict:
                raise error from None
            result.errors.append(error)
            continue
        for doc in docs:
            seen[doc.doc_id] = doc.source
            result.files[doc.doc_id] = (file, fingerprint)
        result.documents.extend(docs)
    return result
