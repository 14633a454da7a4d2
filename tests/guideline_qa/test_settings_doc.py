"""docs/configuration.md is generated from the settings; it must say what the code says."""

from __future__ import annotations

from pathlib import Path

from guideline_qa.settings_doc import REGENERATE, render_configuration, undescribed_settings

PAGE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_configuration_page_matches_the_settings() -> None:
    assert PAGE.is_file(), f"docs/configuration.md is missing; create it with: {REGENERATE}"
    on_disk = PAGE.read_text(encoding="utf-8")
    assert on_disk == render_configuration(), (
        f"docs/configuration.md is out of date with the settings; regenerate it with: {REGENERATE}"
    )


def test_every_setting_has_a_description() -> None:
    missing = undescribed_settings()
    assert not missing, f"settings without a description (Field(description=...)): {', '.join(missing)}"


def test_every_group_gets_a_table_named_by_its_environment_variables() -> None:
    page = render_configuration()
    for heading in ("## General", "## `embedding`", "## `retrieval`", "## `answer`", "## `llm`", "## `server`"):
        assert heading in page
    assert "| `GQA_INDEX_DIR` | path | `.index` |" in page
    assert "`GQA_SERVER__API_KEYS`" in page
    assert "`GQA_RETRIEVAL__MODE` | one of `hybrid`, `dense`, `keyword` | `hybrid` |" in page


def test_a_default_built_from_this_machines_folders_is_not_written_into_the_page(tmp_path, monkeypatch) -> None:
    home = str(Path.home())
    before = render_configuration()
    if len(home) > 1:
        assert home not in before
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert render_configuration() == before
