"""`guideline-qa ingest`: exit codes, the closing summary and error messages (fake embedder, no model)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import ingest.index as index_module
from guideline_qa import cli
from ingest import DEFAULT_MODEL_NAME, EmbeddingSettings, HashEmbedder, open_index

LOADED: list[HashEmbedder] = []


def load_fake(settings: EmbeddingSettings) -> HashEmbedder:
    """The hash fake instead of the real model, named like the default model so the index matches."""
    embedder = HashEmbedder(name=DEFAULT_MODEL_NAME)
    LOADED.append(embedder)
    return embedder


@pytest.fixture(autouse=True)
def fake_model(monkeypatch: pytest.MonkeyPatch) -> list[HashEmbedder]:
    """The embedders the ingest command loaded during the test."""
    LOADED.clear()
    for name in ("GQA_INDEX_DIR", "GQA_CORPUS_PATHS"):
        monkeypatch.delenv(name, raising=False)
    return LOADED


def run(*args: str) -> int:
    return cli.main(["ingest", *args], load_embedder=load_fake)


def test_ingest_prints_a_summary_with_documents_chunks_and_throughput(
    tiny_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index_dir = tmp_path / "index"

    code = run(str(tiny_corpus), "--index", str(index_dir))

    out = capsys.readouterr().out
    chunks = len(open_index(index_dir, model_name=DEFAULT_MODEL_NAME))
    assert code == 0
    assert f"indexed 5 documents into {index_dir}: {chunks} chunks" in out
    assert "(5 new, 0 changed, 0 unchanged, 0 removed documents)" in out
    assert f"embedded {chunks} chunks" in out
    assert re.search(r"in \d+\.\d s \(\d+\.\d chunks/s\)", out)
    assert "0 skipped, 0 errors" in out


def test_second_ingest_reports_up_to_date_without_loading_the_model(
    tiny_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_model: list[HashEmbedder]
) -> None:
    index_dir = tmp_path / "index"
    assert run(str(tiny_corpus), "--index", str(index_dir)) == 0
    capsys.readouterr()

    code = run(str(tiny_corpus), "--index", str(index_dir))

    assert code == 0
    assert f"index {index_dir} is up to date: 5 documents" in capsys.readouterr().out
    assert len(fake_model) == 1


def test_rebuild_flag_re_embeds_everything(
    tiny_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_model: list[HashEmbedder]
) -> None:
    index_dir = tmp_path / "index"
    run(str(tiny_corpus), "--index", str(index_dir))
    capsys.readouterr()

    code = run(str(tiny_corpus), "--index", str(index_dir), "--rebuild")

    out = capsys.readouterr().out
    assert code == 0
    assert "(5 new, 0 changed, 0 unchanged, 0 removed documents)" in out
    assert fake_model[-1].texts_embedded > 0


def test_status_goes_to_stderr_and_quiet_silences_it(
    tiny_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(str(tiny_corpus), "--index", str(tmp_path / "a"))
    loud = capsys.readouterr().err
    run(str(tiny_corpus), "--index", str(tmp_path / "b"), "--quiet")
    quiet = capsys.readouterr().err

    assert "loading the embedding model..." in loud
    assert "writing the index..." in loud
    assert quiet == ""


def test_skipped_and_malformed_files_are_listed_on_stderr(
    tiny_corpus: Path, tmp_path: Path, ingest_fixtures: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copyfile(ingest_fixtures / "dosing.csv", tiny_corpus / "dosing.csv")
    shutil.copyfile(ingest_fixtures / "malformed.jsonl", tiny_corpus / "malformed.jsonl")

    code = run(str(tiny_corpus), "--index", str(tmp_path / "index"), "--quiet")

    captured = capsys.readouterr()
    assert code == 0
    assert f"skipped (unsupported type): {tiny_corpus / 'dosing.csv'}" in captured.err
    assert f"error: {tiny_corpus / 'malformed.jsonl'}: line 2: not JSON" in captured.err
    assert "1 skipped, 1 errors" in captured.out


def test_a_yaml_named_like_a_document_is_skipped_with_the_sidecar_name_to_use(
    tiny_corpus: Path, tmp_path: Path, ingest_fixtures: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copyfile(ingest_fixtures / "page.html", tiny_corpus / "ng 99.html")
    (tiny_corpus / "ng 99.yaml").write_text("title: Spinal care\nyear: 2023\n", encoding="utf-8")
    (tiny_corpus / "settings.yml").write_text("colour: blue\n", encoding="utf-8")

    code = run(str(tiny_corpus), "--index", str(tmp_path / "index"), "--quiet")

    err = capsys.readouterr().err
    assert code == 0
    named = tiny_corpus / "ng 99.yaml"
    assert f'skipped: {named} is not read as the sidecar of ng 99.html: name it "ng 99.html.meta.yaml"' in err
    assert f"skipped (unsupported type): {tiny_corpus / 'settings.yml'}" in err  # no document of that name


def test_strict_makes_a_malformed_file_fatal_with_exit_code_2(
    tiny_corpus: Path, tmp_path: Path, ingest_fixtures: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copyfile(ingest_fixtures / "malformed.jsonl", tiny_corpus / "malformed.jsonl")
    index_dir = tmp_path / "index"

    code = run(str(tiny_corpus), "--index", str(index_dir), "--strict")

    assert code == 2
    assert f"guideline-qa: {tiny_corpus / 'malformed.jsonl'}: line 2: not JSON" in capsys.readouterr().err
    assert not index_dir.exists()


def test_bad_path_gives_exit_code_2_and_names_the_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-such-corpus"

    code = run(str(missing), "--index", str(tmp_path / "index"))

    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.strip() == f"guideline-qa: {missing}: no such file or folder"
    assert captured.out == ""


def test_folder_without_documents_gives_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()

    code = run(str(empty), "--index", str(tmp_path / "index"))

    assert code == 2
    assert "no loadable documents found" in capsys.readouterr().err


def test_a_folder_where_every_file_fails_says_why_each_one_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "cut.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n")
    (docs / "menu.html").write_text("<html><body><nav>Home | About</nav><script>x()</script></body></html>")
    (docs / "notes.txt").write_text("Offer naloxone to patients on high-dose opioids.\n")
    (docs / "notes.txt.meta.yaml").write_text("year: twenty\n")
    (docs / "slides.pptx").write_bytes(b"PK")

    code = run(str(docs), "--index", str(tmp_path / "index"))

    err = capsys.readouterr().err
    assert code == 2 and "no loadable documents found" in err
    lines = err.splitlines()
    assert any(line.strip().startswith(str(docs / "cut.pdf")) and "PDF" in line for line in lines)
    assert any(line.strip().startswith(str(docs / "menu.html")) and "no main text" in line for line in lines)
    assert any(line.strip().startswith(str(docs / "notes.txt.meta.yaml")) and "twenty" in line for line in lines)
    assert "1 file was skipped: guideline-qa does not read its type" in err
    assert not (tmp_path / "index" / "CURRENT").exists()


def test_ctrl_c_mid_write_exits_130_and_keeps_the_previous_index(
    tiny_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    index_dir = tmp_path / "index"
    run(str(tiny_corpus), "--index", str(index_dir), "--quiet")
    before = [c.chunk_id for c in open_index(index_dir).chunks]
    (tiny_corpus / "notes.txt").write_text("Changed notes. They need a new index.\n")

    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(index_module, "_build_keyword", interrupt)
    code = run(str(tiny_corpus), "--index", str(index_dir), "--quiet")

    assert code == 130
    assert "interrupted; the previous index is untouched" in capsys.readouterr().err
    assert [c.chunk_id for c in open_index(index_dir).chunks] == before


def test_sentence_vectors_option_reaches_the_manifest(tiny_corpus: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"

    assert run(str(tiny_corpus), "--index", str(index_dir), "--sentence-vectors", "none", "--quiet") == 0

    assert open_index(index_dir).manifest.sentence_vectors == "none"


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        run("--no-such-option")

    assert info.value.code == 2
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err


PRINT_FOREVER = """
import argparse, sys
sys.path.insert(0, sys.argv[1])
from guideline_qa import cli

class Parser:
    def parse_args(self, argv):
        def handler(args):
            for i in range(1_000_000):
                print("line", i)
            return 0
        return argparse.Namespace(handler=handler)

cli.build_parser = lambda: Parser()
sys.exit(cli.main([]))
"""


def test_a_reader_that_stops_early_gets_no_traceback() -> None:
    import subprocess
    import sys

    root = str(Path(__file__).resolve().parents[2])
    with subprocess.Popen(
        [sys.executable, "-c", PRINT_FOREVER, root], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.readline() == b"line 0\n"
        process.stdout.close()  # what `| head -1` does

        code = process.wait(timeout=60)
        err = process.stderr.read().decode()

    assert code == 141, err
    assert "Traceback" not in err


def test_a_setting_of_the_wrong_type_is_one_line_naming_it_not_a_traceback(
    tiny_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GQA_CHUNKING__MAX_TOKENS", "lots")
    assert run(str(tiny_corpus), "--index", str(tmp_path / "index")) == 2
    err = capsys.readouterr().err
    assert "invalid setting (chunking.max_tokens" in err and "Traceback" not in err
