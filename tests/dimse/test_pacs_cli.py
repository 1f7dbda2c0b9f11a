"""``jip pacs`` without a reachable PACS: clear messages and exit codes, no traceback."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from jip.cli.main import app
from tests.conftest import free_port


def test_unreachable_pacs_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    peers = {"PACS": {"ae_title": "PACS", "host": "127.0.0.1", "port": free_port()}}
    monkeypatch.setenv("JIP_PEERS", json.dumps(peers))
    runner = CliRunner()
    r = runner.invoke(app, ["pacs", "query", "--patient-id", "X"])
    out = " ".join(r.output.split())  # rich wraps long lines
    assert r.exit_code == 2, r.output
    assert "PACS@127.0.0.1" in out and "connection refused" in out
    r = runner.invoke(app, ["pacs", "retrieve", "--study", "1.2.3"])
    assert r.exit_code == 2 and "connection refused" in " ".join(r.output.split())
    r = runner.invoke(app, ["pacs", "query", "--level", "image"])
    assert r.exit_code == 2 and "--level" in r.output


def test_peer_must_be_named_when_several(monkeypatch: pytest.MonkeyPatch) -> None:
    peers = {n: {"ae_title": n, "port": free_port()} for n in ("A", "B")}
    monkeypatch.setenv("JIP_PEERS", json.dumps(peers))
    r = CliRunner().invoke(app, ["pacs", "query"])
    assert r.exit_code == 2 and "--peer" in r.output and "A, B" in r.output
