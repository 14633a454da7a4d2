"""docs/modules.md, generated: every module of the project with the first paragraph of its docstring.

A newcomer's map of the code. `render_modules()` walks the packages in `PACKAGES` (sub-packages included, in
path order) and reads each module's docstring with `ast`, importing nothing. Regenerate the page after adding a
module or changing the opening of a module's docstring::

    python -m guideline_qa.module_index > docs/modules.md

`tests/guideline_qa/test_module_index.py` fails while the page and the code disagree, or while a module has no
docstring.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REGENERATE = "python -m guideline_qa.module_index > docs/modules.md"
PACKAGES = (
    ("ingest", "documents -> structured chunks -> vectors -> an index on disk"),
    ("qa_service", "retrieval, composition, grounding, the evidence gate, the HTTP API, the web page, chat"),
    ("eval", "gold sets, metrics, reports, the regression gate, answerability"),
    ("train", "reproduces the packaged models and data files"),
    ("bench", "`guideline-qa bench`: speed against a plain LangChain pipeline"),
    ("guideline_qa", "the `guideline-qa` command and project tooling"),
)
UNDOCUMENTED = "**(no docstring)**"

_INTRO = """\
# Modules

<!-- Generated from the modules' docstrings by `{regenerate}`. Do not edit by hand: change the
     docstring's first paragraph and regenerate. -->

Every module of the project, package by package, with the opening of its docstring. How the parts work
together: [how it works](how-it-works.md). Where a file's docstring says more, read it there.
"""


def modules(package: str) -> list[Path]:
    """The package's modules, sub-packages included, in path order (caches and empty `__init__.py` files left out)."""
    folder = ROOT / package
    found = []
    for path in sorted(folder.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        if path.name in {"__init__.py", "__main__.py"} and not path.read_text(encoding="utf-8").strip():
            continue
        found.append(path)
    return found


def summary(path: Path) -> str:
    """The first paragraph of the module's docstring, on one line (`UNDOCUMENTED` when it has none)."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    if not doc:
        return UNDOCUMENTED
    paragraph = doc.strip().split("\n\n", 1)[0]
    return " ".join(paragraph.split()).replace("|", "\\|")


def undocumented() -> list[str]:
    """The modules without a docstring, as paths from the project's root."""
    return [
        str(path.relative_to(ROOT))
        for package, _ in PACKAGES
        for path in modules(package)
        if summary(path) == UNDOCUMENTED
    ]


def render_modules() -> str:
    """The whole page."""
    lines = [_INTRO.format(regenerate=REGENERATE)]
    for package, what in PACKAGES:
        lines += [f"## `{package}/`: {what}", "", "| Module | What it is |", "| --- | --- |"]
        for path in modules(package):
            lines.append(f"| `{path.relative_to(ROOT).as_posix()}` | {summary(path)} |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    sys.stdout.write(render_modules())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
