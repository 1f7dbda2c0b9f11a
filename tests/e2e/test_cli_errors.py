"""The ``jip`` CLI given bad settings, bad options or awkward files: one clear line
(naming the setting, option or file), a non-zero exit status, never a traceback."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from jip.synthetic import SeriesSpec, write_series
from tests.conftest import BIN, JipProcess

JIP = str(BIN / "jip")


def run_jip(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ, COLUMNS="500")
    full.update(env or {})
    return subprocess.run(
        [JIP, *args], env=full, capture_output=True, text=True, timeout=timeout, cwd="/"
    )


def one_line(r: subprocess.CompletedProcess[str]) -> str:
    """The output on one line (rich folds long lines), checked to hold no traceback."""
    out = " ".join((r.stdout + r.stderr).split())
    assert "Traceback" not in out and "│" not in out, out[-3000:]
    return out


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"JIP_PEERS": "{not json"}, "invalid setting JIP_PEERS: must be JSON, e.g. {"),
        (
            {"JIP_PEERS": '{"PACS": {"host": "pacs"}}'},
            "invalid setting JIP_PEERS (PACS.ae_title): Field required",
        ),
        (
            {"JIP_PEERS": '{"PACS": {"ae_title": "A_TITLE_OF_17_CHR"}}'},
            "invalid setting JIP_PEERS (PACS.ae_title): AE title must be 1-16",
        ),
        (
            {"JIP_ALLOWED_CALLING_AETS": "MODALITY"},
            'invalid setting JIP_ALLOWED_CALLING_AETS: must be JSON, e.g. ["A", "B"]',
        ),
        ({"JIP_CONFIG": "/no/such/jip.yaml"}, "invalid setting JIP_CONFIG: cannot read"),
        ({"JIP_DATABASE_URL": "garbage://x"}, "JIP_DATABASE_URL: must be empty"),
        (
            {"JIP_DATABASE_URL": "mysql://jip:s3cret-pw@db/jip"},
            "JIP_DATABASE_URL: must be empty (SQLite in the data folder), sqlite:///<file> or "
            "postgresql://user:password@host[:port]/database (got scheme 'mysql')",
        ),
        (
            {"JIP_DATABASE_URL": "postgresql://jip:s3cret-pw@db:port/jip"},
            "(got a URL that cannot be parsed)",
        ),
        (
            {"JIP_S3_ENDPOINT": "minio:9000/jip", "JIP_S3_SECRET_KEY": "s3cret-pw"},
            "invalid setting JIP_S3_ENDPOINT must be host[:port] or http(s)://host[:port]",
        ),
        ({"JIP_S3_ENDPOINT": "ftp://minio:9000"}, "JIP_S3_ENDPOINT scheme must be http or https"),
        ({"JIP_S3_ENDPOINT": "minio:99999"}, "JIP_S3_ENDPOINT must be host[:port]"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(
    tmp_path: Path, settings: dict[str, str], expected: str
) -> None:
    env = dict(settings, JIP_DATA_DIR=str(tmp_path / "data"), JIP_STORE_BACKEND="s3")
    r = run_jip("status", env=env)
    out = one_line(r)
    assert r.returncode == 1, out
    assert expected in out
    assert "s3cret-pw" not in out  # never a password


def test_import_names_a_bad_store_setting(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    env = {
        "JIP_DATA_DIR": str(tmp_path / "data"),
        "JIP_STORE_BACKEND": "s3",
        "JIP_S3_ENDPOINT": "http://minio:9000/bucket",
    }
    r = run_jip("import", str(tmp_path / "a.txt"), env=env)
    assert r.returncode == 1
    assert "invalid setting JIP_S3_ENDPOINT must be host[:port]" in one_line(r)
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("data_dir: [unclosed\n", "is not valid YAML (line 2)"),
        ("- a list\n", "must hold a mapping of setting names to values"),
    ],
)
def test_a_bad_config_file_is_one_line_naming_it(
    tmp_path: Path, content: str, expected: str
) -> None:
    config = tmp_path / "jip.yaml"
    config.write_text(content)
    r = run_jip("status", env={"JIP_CONFIG": str(config), "JIP_DATA_DIR": str(tmp_path)})
    out = one_line(r)
    assert r.returncode == 1
    assert f"invalid setting JIP_CONFIG: {config} {expected}" in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["echo", "--aet", "A_TITLE_OF_17_CHR"], "Invalid value for '--aet': AE title must be"),
        (["echo", "--aet", "A\\B"], "Invalid value for '--aet': AE title must be 1-16"),
        (["send", "{file}", "--calling", "A\\B"], "Invalid value for '--calling': AE title"),
        (["echo", "--port", "70000"], "Invalid value for '--port'"),
        (["echo", "--port", "-1"], "Invalid value for '--port'"),
        (["send", "{file}", "--port", "0"], "Invalid value for '--port'"),
        (
            ["pacs", "retrieve", "--study", "1.2.3", "--destination", "A_TITLE_OF_17_CHR"],
            "Invalid value for '--destination': AE title must be",
        ),
    ],
)
def test_a_bad_port_or_ae_title_is_a_usage_error(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    (tmp_path / "a.dcm").write_text("x")
    r = run_jip(*(a.replace("{file}", str(tmp_path / "a.dcm")) for a in args))
    out = " ".join(r.stderr.split())
    assert r.returncode == 2, out
    assert expected in out
    assert "Traceback" not in out and "Exception in thread" not in out


def test_echo_and_send_default_to_this_sites_port_and_ae_title(
    jip: JipProcess, tmp_path: Path
) -> None:
    """Without --port/--aet they talk to the site the settings describe (they were fixed
    at 11112 and JIP, whatever JIP_DICOM_PORT and JIP_AE_TITLE said)."""
    files = write_series(SeriesSpec(slices=2, size=16), tmp_path / "ct")
    env = {"JIP_DICOM_PORT": str(jip.dicom_port)}
    r = run_jip("echo", env=env)
    assert r.returncode == 0, r.stderr
    assert f"C-ECHO ok JIP@127.0.0.1:{jip.dicom_port}" in r.stderr
    r = run_jip("send", str(files[0]), env=env)
    assert r.returncode == 0 and "sent 1" in r.stderr, r.stderr
    r = run_jip("echo", env=dict(env, JIP_AE_TITLE="OTHER"))
    assert r.returncode == 1 and "association with OTHER@" in " ".join(r.stderr.split())
