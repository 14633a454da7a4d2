"""The deployment files name real routes, ports and command-line options (no cluster runs here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from guideline_qa.cli import build_parser
from qa_service.app import create_app
from qa_service.settings import Settings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def manifests() -> dict[str, dict]:
    found = {}
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            found[doc["kind"]] = doc
    return found


def container(kind: str) -> dict:
    return manifests()[kind]["spec"]["template"]["spec"]["containers"][0]


def answers(path: str) -> int:
    """The status the app gives `path` with a pipeline loaded (a real route is never 404)."""
    from fastapi.testclient import TestClient

    from tests.fakes.service import FakePipeline

    return TestClient(create_app(Settings(), pipeline=FakePipeline())).get(path).status_code


def parses(command: list[str]) -> None:
    assert command[0] == "guideline-qa"
    build_parser().parse_args(command[1:])  # exits with an error for an unknown option


def test_probes_name_real_routes_and_the_container_port() -> None:
    service = container("Deployment")
    for probe in ("readinessProbe", "livenessProbe"):
        assert answers(service[probe]["httpGet"]["path"]) == 200
    assert answers("/no-such-route") == 404
    port = {p["name"]: p["containerPort"] for p in service["ports"]}["http"]
    assert service["readinessProbe"]["httpGet"]["port"] == "http"
    command = service["command"]
    assert command[command.index("--port") + 1] == str(port)
    assert command[command.index("--index") + 1] == service["volumeMounts"][0]["mountPath"]


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_commands_are_real_cli_invocations(kind: str) -> None:
    parses(container(kind)["command"])


def test_the_service_and_the_autoscaler_point_at_the_deployment() -> None:
    found = manifests()
    deployment = found["Deployment"]
    assert found["Service"]["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert found["Service"]["spec"]["ports"][0]["targetPort"] == "http"
    target = found["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])


def test_the_service_reads_the_index_read_only_and_the_job_writes_it() -> None:
    service, job = container("Deployment"), container("Job")
    assert service["volumeMounts"][0]["readOnly"] is True
    assert not job["volumeMounts"][0].get("readOnly")
    assert job["volumeMounts"][0]["mountPath"] == service["volumeMounts"][0]["mountPath"]


def test_the_container_file_runs_as_a_non_root_user_and_serves_with_real_options() -> None:
    text = (DEPLOY / "Containerfile").read_text()
    assert "USER 10001" in text and '"torch==2.13.0"' in text
    cmd = next(line for line in text.splitlines() if line.startswith("CMD "))
    parses(json.loads(cmd[4:]))
