"""schemathesis against the running platform's OpenAPI schema: no input it generates
may produce a 5xx (bounded number of examples per operation, fixed seed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import BIN, JipProcess


@pytest.mark.slow
def test_openapi_operations_never_answer_5xx(jip: JipProcess, tmp_path: Path) -> None:
    r = subprocess.run(
        [
            str(BIN / "st"),
            "run",
            f"{jip.url}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "15",
            "--seed",
            "1",
            "--request-timeout",
            "20",
            "--workers",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-6000:]
    assert "No issues found" in out, out[-3000:]
