"""Metadata a user states for their own guideline files: sidecars and folder manifests.

A PDF or web page rarely says cleanly what it is. Two ways to say it, both YAML (JSON is YAML too):

- a **sidecar** beside the document, named after the whole file name: `who-2020.pdf.meta.yaml`
  (or after its stem, `who-2020.meta.yaml`, when only one document has that stem);
- a **folder manifest** `guidelines.yaml` in the document's folder, mapping file names to the same
  fields, with optional `defaults` for every file in that folder::

      defaults: {issuing_body: NICE, topic: oncology}
      ng234.pdf: {title: "Suspected cancer: recognition and referral", year: 2023, url: https://...}

Fields: `title`, `issuing_body`, `year`, `url`, `topic`, `sources` (guideline label -> URL); any
other plain value is kept as document metadata. A sidecar wins over the folder manifest, which wins
over what the document says of itself (front matter, the PDF's information, its cover page), which
wins over the file name.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from ingest.errors import LoaderError

SIDECAR_SUFFIXES = (".meta.yaml", ".meta.yml")
FOLDER_MANIFEST = "guidelines.yaml"
KNOWN_FIELDS = ("title", "issuing_body", "year", "url", "topic", "sources")
# Bump when a loader would read the same bytes into other documents, or the ingest summary would report them
# otherwise (an unchanged file's summary is carried from the last build): unchanged files are then parsed again.
# l15: Markdown tables are counted in the summary (3e17deb); indexes built before it showed 0 for them.
# l16: a reference number in parentheses opening a PDF line inside a sentence ("(96) and titrated ...") is no
# list marker: the sentence is read whole.
# l17: notes about the publication (About this summary, permissions, disclaimer, change logs...) are left out.
# l18: a raised number list after a word no citation follows ("aged 15 to ¹⁹'³⁵'⁴⁷") keeps its first number as text.
LOADER_VERSION = "l18"


def is_metadata_file(path: Path) -> bool:
    """Whether a file states metadata for others rather than being a guideline itself."""
    name = path.name.lower()
    return name == FOLDER_MANIFEST or name.endswith(SIDECAR_SUFFIXES)


def misnamed_sidecar(path: Path) -> Path | None:
    """The document a YAML file seems meant to describe when it is named like it without `.meta`
    ("ng234.yaml" beside "ng234.pdf"). Such a file is not read (YAML is no document type, and a sidecar's name
    says which document it describes): the ingest summary says how to name it instead of only skipping it."""
    if path.suffix.lower() not in (".yaml", ".yml") or is_metadata_file(path):
        return None
    try:
        siblings = sorted(path.parent.iterdir())
    except OSError:
        return None
    for sibling in siblings:
        if sibling.stem == path.stem and sibling.suffix.lower() not in (".yaml", ".yml") and sibling.is_file():
            return sibling
    return None


def sidecar_for(path: Path) -> Path | None:
    """The sidecar file of a document, if there is one."""
    for base in (path.name, path.stem):
        for suffix in SIDECAR_SUFFIXES:
            candidate = path.with_name(base + suffix)
            if candidate.is_file():
                return candidate
    return None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise LoaderError(path, f"not valid YAML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LoaderError(path, f"cannot read: {exc}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise LoaderError(path, "must be a mapping of field names to values (title: ..., year: ...)")
    return loaded


@lru_cache(maxsize=256)
def _folder_manifest(folder: Path, mtime_ns: int) -> dict[str, Any]:
    del mtime_ns  # part of the cache key only: an edited manifest is read again
    return _read_yaml(folder / FOLDER_MANIFEST)


def _manifest_entry(path: Path) -> tuple[Path | None, dict[str, Any]]:
    manifest = path.parent / FOLDER_MANIFEST
    if not manifest.is_file():
        return None, {}
    table = _folder_manifest(path.parent, manifest.stat().st_mtime_ns)
    defaults = table.get("defaults") or {}
    entry = table.get(path.name) or {}
    for name, value in (("defaults", defaults), (path.name, entry)):
        if not isinstance(value, dict):
            raise LoaderError(manifest, f"entry {name!r} must be a mapping of field names to values")
    return manifest, {**defaults, **entry}


def stated_metadata(path: Path) -> tuple[dict[str, Any], list[Path]]:
    """The fields stated for a document by its folder manifest and sidecar (sidecar first), and their files."""
    files: list[Path] = []
    manifest, fields = _manifest_entry(path)
    if manifest is not None:
        files.append(manifest)
    sidecar = sidecar_for(path)
    if sidecar is not None:
        files.append(sidecar)
        fields = {**fields, **_read_yaml(sidecar)}
    return fields, files


def _checked_year(value: Any, where: Path) -> int | None:
    if value is None or value == "":
        return None
    text = str(value).strip()
    if not (len(text) >= 4 and text[:4].isdigit() and 1900 <= int(text[:4]) <= 2100):
        raise LoaderError(where, f"'year' must be a year such as 2023, not {value!r}")
    return int(text[:4])


def apply_stated(doc: Any, fields: dict[str, Any], where: Path) -> Any:
    """The document with the stated fields put over what it says of itself."""
    if not fields:
        return doc
    changes: dict[str, Any] = {}
    if fields.get("title"):
        changes["title"] = str(fields["title"]).strip()
    if fields.get("issuing_body"):
        changes["issuing_body"] = str(fields["issuing_body"]).strip()
    if "year" in fields:
        changes["year"] = _checked_year(fields["year"], where)
    for key in ("url", "topic"):
        if fields.get(key):
            changes[key] = str(fields[key]).strip()
    if "sources" in fields:
        sources = fields["sources"]
        if not isinstance(sources, dict) or not all(isinstance(v, str) for v in sources.values()):
            raise LoaderError(where, "'sources' must map guideline labels to URLs")
        changes["sources"] = {str(k).strip(): v.strip() for k, v in sources.items()}
    extra = {k: v for k, v in fields.items() if k not in KNOWN_FIELDS and isinstance(v, str | int | float | bool)}
    if extra:
        changes["metadata"] = {**doc.metadata, **extra}
    return replace(doc, **changes)


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_fingerprint(path: Path, metadata_files: list[Path]) -> str:
    """Hash of a document file's bytes, its metadata files' bytes and the loader version.

    Equal fingerprints mean the file would load into the same documents, so ingest can skip parsing it.
    """
    digest = hashlib.sha256(LOADER_VERSION.encode())
    for file in [path, *metadata_files]:
        digest.update(b"\x00" + file.name.encode() + b"\x00")
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
