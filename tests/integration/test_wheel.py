"""A plain `pip install .` works: the wheel holds every file the packages ship, and it ingests and answers elsewhere."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import CORPUS_DIR, REPO_ROOT

pytestmark = pytest.mark.slow
PACKAGES = ("ingest", "qa_service", "eval", "bench", "guideline_qa")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(REPO_ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("guideline_qa-*.whl")
    return built


def _shipped_files() -> set[str]:
    """Every file git tracks inside the packages, Python or not: what an install must carry."""
    listed = subprocess.run(
        ["git", "ls-files", *PACKAGES], cwd=REPO_ROOT, check=True, capture_output=True, text=True
    ).stdout.split()
    return {path for path in listed if "__pycache__" not in path}


def test_the_wheel_carries_every_file_of_the_packages_and_no_top_level_cli(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(_shipped_files() - names)
    assert not missing, f"files the packages ship but the wheel lacks (package-data in pyproject.toml): {missing}"
    assert "cli.py" not in names
    assert any(n.startswith("qa_service/data/") for n in names) and "qa_service/data/gate.json" in names


def test_the_installed_wheel_ingests_and_answers_from_another_folder(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    # -S: no site module, so the editable install of the working tree is not on the path; the wheel's
    # packages come first, then the environment's third-party packages.
    script = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]];"
        "from guideline_qa.cli import main;"
        "import guideline_qa, qa_service; assert guideline_qa.__file__.startswith(sys.argv[1]), guideline_qa.__file__;"
        "assert main(['ingest', sys.argv[3], '--index', 'idx', '--quiet']) == 0;"
        "raise SystemExit(main(['ask', 'single fraction dose for painful bone metastases', '--index', 'idx']))"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", script, str(site), sysconfig.get_paths()["purelib"], str(CORPUS_DIR)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "8 Gy" in result.stdout and "Sources:" in result.stdout


def test_serving_an_index_does_not_import_torch(tmp_path: Path) -> None:
    import os

    from ingest import EmbeddingSettings, build_index

    onnx_dir = tmp_path / "onnx"  # the service's default: the int8 encoder, exported here for this test
    build_index([CORPUS_DIR], tmp_path / "idx", embedding=EmbeddingSettings(precision="int8", onnx_dir=onnx_dir))
    env = os.environ | {
        "GQA_EMBEDDING__PRECISION": "int8",
        "GQA_EMBEDDING__QUERY_BACKEND": "onnx",
        "GQA_EMBEDDING__ONNX_DIR": str(onnx_dir),
    }
    script = (
        "import sys; from pathlib import Path;"
        "from qa_service.pipeline import QAPipeline; from qa_service.settings import Settings;"
        "QAPipeline.from_settings(Settings(index_dir=Path(sys.argv[1])));"
        "heavy = sorted({'torch', 'transformers', 'sentence_transformers'} & set(sys.modules));"
        "raise SystemExit(f'serving imported {heavy}' if heavy else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "idx")], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:] or result.stdout
