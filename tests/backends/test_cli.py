"""The ``jip`` CLI as a user runs it (subprocess): import, status, echo, send."""

from __future__ import annotations

import json
import os
import subprocess
from io import BytesIO
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file

from jip.synthetic import SeriesSpec, dataset_bytes, make_series, write_series
from tests.backends.conftest import Site, settings_from_env
from tests.conftest import BIN, free_port
from tests.servers import S3Server

JIP = str(BIN / "jip")


def run_jip(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ)
    full.update(env or {})
    return subprocess.run(
        [JIP, *args], env=full, capture_output=True, text=True, timeout=180, cwd="/"
    )


def make_mixed_folder(root: Path) -> dict[str, int]:
    """Two good series in nested folders plus one file of each kind of bad input."""
    write_series(SeriesSpec(slices=3, size=16), root / "p1" / "ct")
    write_series(SeriesSpec(slices=3, size=16, patient_id="P2"), root / "p2" / "deep" / "mr")
    (root / "notes.txt").write_text("not an image")
    (root / "empty.dcm").write_bytes(b"")
    (root / ".DS_Store").write_bytes(b"hidden files are not looked at")
    good = dataset_bytes(next(make_series(SeriesSpec(slices=1, size=16))))
    (root / "truncated.dcm").write_bytes(good[: len(good) - 100])
    ds = next(make_series(SeriesSpec(slices=1, size=16)))
    ds.file_meta.TransferSyntaxUID = "1.2.840.99999.1.2"
    ds.save_as(
        root / "unknown_ts.dcm", implicit_vr=False, little_endian=True, enforce_file_format=True
    )
    ds = next(make_series(SeriesSpec(slices=1, size=16)))
    ds.SOPInstanceUID = "1.2.3/../../evil"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    (root / "path_uid.dcm").write_bytes(dataset_bytes(ds))
    return {"good": 6, "bad": 5}


def test_import_and_status_on_each_backend(combo_env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "incoming"
    expected = make_mixed_folder(folder)
    env = dict(combo_env, JIP_DATA_DIR=str(tmp_path / "data"), JIP_HTTP_PORT=str(free_port()))

    r = run_jip("import", str(folder), "--workers", "3", "--json", env=env)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["stored"] == expected["good"] and report["failed"] == []
    reasons = {Path(s["path"]).name: s["reason"] for s in report["skipped"]}
    assert set(reasons) == {
        "notes.txt",
        "empty.dcm",
        "truncated.dcm",
        "unknown_ts.dcm",
        "path_uid.dcm",
    }
    assert "no DICM prefix" in reasons["notes.txt"]
    assert "truncated" in reasons["truncated.dcm"]
    assert "transfer syntax" in reasons["unknown_ts.dcm"]
    assert "SOP Instance UID" in reasons["path_uid.dcm"]
    assert f"imported {expected['good']}" in r.stderr and "skipped 5" in r.stderr

    again = json.loads(run_jip("import", str(folder), "--json", env=env).stdout)
    assert (again["stored"], again["duplicates"]) == (0, expected["good"])

    r = run_jip("status", "--json", env=env)
    assert r.returncode == 0, r.stderr
    status = json.loads(r.stdout)
    assert status["counts"] == {"patients": 2, "studies": 2, "series": 2, "instances": 6}
    assert status["stored_bytes"] == report["bytes_stored"] > 0
    assert status["running"] is False and status["index_error"] == ""
    assert 0 < status["disk_free_bytes"] <= status["disk_total_bytes"]
    settings = settings_from_env(env, tmp_path / "data")
    assert status["backends"]["store"].startswith(settings.store_backend)


def test_import_into_misconfigured_store_fails_with_exit_1(
    s3_server: S3Server, tmp_path: Path
) -> None:
    """A store error is a site problem, not a bad file: reported as failed, exit code 1."""
    folder = tmp_path / "in"
    write_series(SeriesSpec(slices=2, size=16), folder)
    env = s3_server.env("jip-misconfigured")
    env.update(JIP_DATA_DIR=str(tmp_path / "data"), JIP_S3_SECRET_KEY="wrong-secret")
    r = run_jip("import", str(folder), env=env)
    assert r.returncode == 1
    assert "SignatureDoesNotMatch" in r.stderr or "AccessDenied" in r.stderr
    assert "Traceback" not in r.stderr


def test_echo_send_status_against_running_site(combo_site: Site, tmp_path: Path) -> None:
    jip, site = combo_site.jip, combo_site
    before, keys_before = site.counts()["instances"], set(site.store.keys())
    port = str(jip.dicom_port)
    r = run_jip("echo", "--port", port)
    assert r.returncode == 0 and "C-ECHO ok" in r.stderr, r.stderr
    r = run_jip("echo", "--port", str(free_port()))
    out = " ".join(r.stderr.split())  # rich wraps long lines
    assert r.returncode == 1 and "C-ECHO failed" in out and "Traceback" not in out
    assert "connection refused (is the peer running on that port?)" in out
    r = run_jip("echo", "--port", port, "--aet", "NOT_JIP")
    out = " ".join(r.stderr.split())
    assert r.returncode == 1 and "rejected: Called AE title not recognised" in out
    r = run_jip("echo", "--host", "no-such-host.invalid", "--port", port)
    out = " ".join(r.stderr.split())
    assert r.returncode == 1 and "unknown host" in out and "Traceback" not in out

    folder = tmp_path / "send"
    series = write_series(SeriesSpec(slices=3, size=16), folder / "ct")
    j2k = Path(str(get_testdata_file("JPEG2000.dcm")))
    (folder / "j2k.dcm").write_bytes(j2k.read_bytes())
    (folder / "readme.txt").write_text("skip me")
    r = run_jip("send", str(folder), "--port", port)
    assert r.returncode == 0, r.stderr
    assert "sent 4" in r.stderr and "skipped 1" in r.stderr and "failed 0" in r.stderr

    # compressed object sent unchanged (no transcoding on the way)
    new_keys = set(site.store.keys()) - keys_before
    assert len(new_keys) == len(series) + 1
    stored = [pydicom.dcmread(BytesIO(site.store.get(k))) for k in new_keys]
    original = pydicom.dcmread(j2k)
    [copy] = [d for d in stored if d.SOPInstanceUID == original.SOPInstanceUID]
    assert copy.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID
    assert copy.PixelData == original.PixelData

    bad = next(make_series(SeriesSpec(slices=1, size=16)))
    del bad.StudyInstanceUID
    (tmp_path / "bad.dcm").write_bytes(dataset_bytes(bad))
    r = run_jip("send", str(tmp_path / "bad.dcm"), "--port", port)
    assert r.returncode == 1 and "0xC000" in r.stderr

    r = run_jip("status", "--json", env=jip.env)
    status = json.loads(r.stdout)
    assert status["running"] is True
    assert status["listening"]["dicom"] == f"JIP@127.0.0.1:{jip.dicom_port}"
    assert status["listening"]["http"] == f"{jip.url}/"
    assert status["counts"]["instances"] == before + 4
    human = run_jip("status", env=jip.env)
    assert human.returncode == 0 and "instances" in human.stdout and "yes" in human.stdout
    assert "disk free" in human.stdout


def test_up_with_unusable_backend_settings_says_so_in_one_line(
    s3_server: S3Server, tmp_path: Path
) -> None:
    """A malformed S3 endpoint or bucket name, or a database URL JIP cannot use, ends
    ``jip up`` with exit 1 and one line naming the setting: no traceback, no secret."""
    secret = "Sup3rSecretPassw0rd"
    s3 = s3_server.env("jip-ok-bucket")
    cases = [
        ({**s3, "JIP_S3_BUCKET": "b1"}, "JIP_S3_BUCKET"),
        ({**s3, "JIP_S3_ENDPOINT": f"{s3_server.endpoint}/some/path"}, "JIP_S3_ENDPOINT"),
        ({"JIP_DATABASE_URL": f"postgres://jip:{secret}@127.0.0.1:1/jip"}, "JIP_DATABASE_URL"),
        ({"JIP_DATABASE_URL": f"mysql://jip:{secret}@127.0.0.1:1/jip"}, "JIP_DATABASE_URL"),
        ({"JIP_DATABASE_URL": f"postgresql://jip:{secret}@host:port/jip"}, "JIP_DATABASE_URL"),
    ]
    for n, (env, setting) in enumerate(cases):
        env = {
            **env,
            "JIP_DATA_DIR": str(tmp_path / f"data{n}"),
            "JIP_HTTP_PORT": str(free_port()),
            "JIP_DICOM_PORT": str(free_port()),
            "COLUMNS": "300",
        }
        r = run_jip("up", env=env)
        assert r.returncode == 1, (env, r.stderr[-2000:])
        assert "Traceback" not in r.stderr, r.stderr[-2000:]
        refused = "JIP cannot start" in r.stderr or "invalid setting" in r.stderr
        assert refused and setting in r.stderr, r.stderr
        assert secret not in r.stdout + r.stderr
        assert s3_server.secret_key not in r.stdout + r.stderr


def test_s3_endpoint_given_as_url(s3_server: S3Server, tmp_path: Path) -> None:
    """``http://host:port`` is taken (the S3 client refused it as "path in endpoint");
    its scheme decides TLS."""
    folder = tmp_path / "in"
    write_series(SeriesSpec(slices=2, size=16), folder)
    env = s3_server.env("jip-url-endpoint")
    env.update(
        JIP_DATA_DIR=str(tmp_path / "data"), JIP_S3_ENDPOINT=f"http://{s3_server.endpoint}/"
    )
    r = run_jip("import", str(folder), "--json", env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["stored"] == 2
    r = run_jip("status", "--json", env=env)
    store = json.loads(r.stdout)["backends"]["store"]
    assert store == f"s3 http://{s3_server.endpoint}/jip-url-endpoint"
    secure = settings_from_env(dict(env, JIP_S3_ENDPOINT="https://minio:9000"), tmp_path)
    assert (secure.s3_endpoint, secure.s3_secure) == ("minio:9000", True)
