"""docs/modules.md is generated from the modules' docstrings and must stay in step with the code."""

from __future__ import annotations

from pathlib import Path

from guideline_qa.module_index import PACKAGES, REGENERATE, UNDOCUMENTED, modules, render_modules, summary, undocumented

PAGE = Path(__file__).resolve().parents[2] / "docs" / "modules.md"


def test_the_modules_page_matches_the_code() -> None:
    assert PAGE.is_file(), f"docs/modules.md is missing; create it with: {REGENERATE}"
    assert PAGE.read_text(encoding="utf-8") == render_modules(), (
        f"docs/modules.md is out of date with the modules' docstrings; regenerate it with: {REGENERATE}"
    )


def test_every_module_has_a_docstring() -> None:
    assert undocumented() == [], "modules without a docstring (add one, then regenerate docs/modules.md)"


def test_every_module_is_listed_once() -> None:
    page = render_modules()
    root = PAGE.parents[1]
    for package, _ in PACKAGES:
        for path in modules(package):
            assert page.count(f"| `{path.relative_to(root).as_posix()}` |") == 1, path
    assert "| `qa_service/routes/chat.py` |" in page and "| `ingest/pdf/reader.py` |" in page
    assert "__pycache__" not in page


def test_a_summary_is_the_docstrings_first_paragraph_on_one_line(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text('"""First line\nwraps here | with a pipe.\n\nSecond paragraph."""\nx = 1\n', encoding="utf-8")
    assert summary(module) == "First line wraps here \\| with a pipe."
    bare = tmp_path / "bare.py"
    bare.write_text("x = 1\n", encoding="utf-8")
    assert summary(bare) == UNDOCUMENTED
