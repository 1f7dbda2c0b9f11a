"""The pipeline pages call only routes the backend documents: every ``/api/v1`` path in
``frontend/src/pipelines/api.ts`` is matched against the app's OpenAPI schema, so a
renamed or removed route fails here in a second, not as a blank page in the browser."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from jip.api.app import create_app
from jip.runtime import Runtime

API_TS = Path(__file__).resolve().parents[2] / "frontend" / "src" / "pipelines" / "api.ts"


def _frontend_paths() -> set[str]:
    """``/api/v1/runs/${enc(id)}/logs`` -> ``/api/v1/runs/{}/logs`` (query strings cut)."""
    found = re.findall(r"[`\"](/api/v1/[^`\"]*)", API_TS.read_text())
    paths = set()
    for p in found:
        p = re.sub(r"\$\{[^}]*\?[^}]*$", "", p)  # `${qs ? `?${qs}` : ""}` tails
        p = re.sub(r"\$\{[^}]*\}", "{}", p).split("?")[0]
        paths.add(p)
    return paths


def test_every_pipeline_call_is_a_documented_route(runtime: Runtime) -> None:
    with TestClient(create_app(runtime)) as client:
        schema = client.get("/openapi.json").json()
    documented = {re.sub(r"\{[^}]*\}", "{}", p) for p in schema["paths"]}
    used = _frontend_paths()
    assert {"/api/v1/algorithms", "/api/v1/runs/{}/jobs/{}/logs",
            "/api/v1/pipeline-triggers/{}"} <= used  # the parser found the calls
    assert len(used) >= 8
    assert used - documented == set()
