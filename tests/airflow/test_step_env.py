"""The settings the Airflow engine hands to step processes: complete, and never secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from jip.config import Settings
from jip.pipelines.airflow_engine import STEP_SETTINGS, step_env


def test_step_env_round_trips_through_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = Settings(
        data_dir=tmp_path / "d",
        runner="process",
        algorithms_dirs=[tmp_path / "a", tmp_path / "b"],
        s3_secure=True,
        s3_secret_key="top-secret",
        airflow_password=SecretStr("also-secret"),
    )
    env = step_env(sent)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    received = Settings()
    for name in STEP_SETTINGS:
        want = getattr(sent, name)
        if name == "data_dir":
            want = want.resolve()
        assert getattr(received, name) == want, name
    assert received.resolved_database_url == sent.resolved_database_url
    assert "top-secret" not in str(env) and "also-secret" not in str(env)


def test_database_password_stays_out_of_the_conf(tmp_path: Path) -> None:
    with_pw = Settings(data_dir=tmp_path, database_url="postgresql://jip:pw@db/jip")
    without = Settings(data_dir=tmp_path, database_url="postgresql://jip@db/jip")
    assert "JIP_DATABASE_URL" not in step_env(with_pw)
    assert step_env(without)["JIP_DATABASE_URL"] == "postgresql://jip@db/jip"
