"""The ``jip`` CLI given bad settings, bad options or awkward files: one clear line
(naming the setting, option or file), a non-zero exit status, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from pydicom.fileset import FileSet

from jip.synthetic import SeriesSpec, dataset_bytes, make_series, write_series
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


def awkward_folder(root: Path) -> Path:
    """Two DICOM files, a FIFO, a DICOMDIR, a truncated file and names that are rich
    markup (a closing tag crashed the output, others restyled or hid the name)."""
    write_series(SeriesSpec(slices=2, size=16), root / "ct")
    os.mkfifo(root / "fifo")
    (root / "[/oops]").mkdir(parents=True)  # folders "[" and "oops]"
    (root / "[/oops]" / "[bold red]x.txt").write_text("not an image")
    fs = FileSet()
    fs.add(next(make_series(SeriesSpec(slices=1, size=16, patient_id="MEDIA"))))
    fs.write(root / "media")
    good = dataset_bytes(next(make_series(SeriesSpec(slices=1, size=16))))
    (root / "cut.dcm").write_bytes(good[:160])  # file meta cut inside
    return root


def rows(out: str) -> dict[str, str]:
    """``{file name: reason}`` of the skipped/failed lines of the CLI's report."""
    found = {}
    for line in out.splitlines():
        words = line.strip().split(" ", 1)
        if words[0] in ("skipped", "failed") and ": " in words[1]:
            path, reason = words[1].split(": ", 1)
            found[Path(path).name] = f"{words[0]}: {reason}"
    return found


def test_import_skips_what_is_no_regular_file_and_prints_names_as_they_are(
    tmp_path: Path,
) -> None:
    folder = awkward_folder(tmp_path / "in")
    r = run_jip("import", str(folder), env={"JIP_DATA_DIR": str(tmp_path / "data")}, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "imported 3 " in r.stderr and "Traceback" not in r.stderr
    assert rows(r.stderr) == {
        "fifo": "skipped: not a regular file",
        "DICOMDIR": "skipped: DICOMDIR (media directory)",
        "[bold red]x.txt": "skipped: not a DICOM Part 10 file (no DICM prefix)",
        "cut.dcm": "skipped: missing Transfer Syntax UID in file meta information",
    }
    assert f"{folder}/[/oops]/[bold red]x.txt" in r.stderr

    r = run_jip("import", str(tmp_path / "[/oops]gone"))
    assert r.returncode == 2 and f"no such file or folder: {tmp_path}/[/oops]gone" in r.stderr


def test_send_skips_what_is_no_regular_file_and_prints_names_as_they_are(
    jip: JipProcess, tmp_path: Path
) -> None:
    """A FIFO made send hang for ever, a DICOMDIR made it fail (no presentation
    context for the Media Storage Directory class)."""
    folder = awkward_folder(tmp_path / "in")
    r = run_jip("send", str(folder), "--port", str(jip.dicom_port), timeout=60)
    assert r.returncode == 0, r.stderr
    assert "sent 3," in r.stderr and "failed 0" in r.stderr
    assert rows(r.stderr) == {
        "fifo": "skipped: not a regular file",
        "DICOMDIR": "skipped: DICOMDIR (media directory)",
        "[bold red]x.txt": "skipped: not a DICOM Part 10 file",
        "cut.dcm": "skipped: truncated or malformed DICOM file",
    }


@pytest.mark.parametrize("what", ["import", "send"])
def test_nothing_to_read_is_an_error(tmp_path: Path, what: str) -> None:
    (tmp_path / "empty").mkdir()
    env = {"JIP_DATA_DIR": str(tmp_path / "data")}
    r = (
        run_jip(what, str(tmp_path / "empty"), "--port", "1", env=env)
        if what == "send"
        else (run_jip(what, str(tmp_path / "empty"), env=env))
    )
    assert r.returncode == 1 and f"no files found in {tmp_path}/empty" in r.stderr
    r = run_jip("import", "/dev/zero", env=env, timeout=60)
    assert r.returncode == 1
    assert "skipped /dev/zero: not a regular file" in r.stderr and "no files found" in r.stderr


@pytest.mark.parametrize("workers", ["0", "-5"])
def test_import_refuses_no_workers(tmp_path: Path, workers: str) -> None:
    (tmp_path / "a.dcm").write_text("x")
    r = run_jip("import", str(tmp_path / "a.dcm"), "--workers", workers)
    assert r.returncode == 2 and "Invalid value for '--workers'" in r.stderr
    assert not (tmp_path / "data").exists()


def without_root_privileges() -> list[str]:
    """Command prefix so that file permissions hold for the jip process: root (as CI
    runs) reads every folder unless it drops the capabilities that let it."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search"]


def test_folders_that_cannot_be_read_are_reported_and_fail(tmp_path: Path) -> None:
    """os.walk dropped an unreadable folder without a word (exit 0), and a path under a
    folder without search permission was a PermissionError traceback."""
    folder = tmp_path / "in"
    write_series(SeriesSpec(slices=2, size=16), folder / "ct")
    write_series(SeriesSpec(slices=1, size=16), folder / "locked")
    (folder / "locked").chmod(0)
    (tmp_path / "closed" / "inner").mkdir(parents=True)
    (tmp_path / "closed").chmod(0o600)
    env = dict(os.environ, COLUMNS="500", JIP_DATA_DIR=str(tmp_path / "data"))
    try:
        r = subprocess.run(
            [
                *without_root_privileges(),
                JIP,
                "import",
                str(folder),
                str(tmp_path / "closed/inner"),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd="/",
        )
    finally:
        (folder / "locked").chmod(0o700)
        (tmp_path / "closed").chmod(0o700)
    out = one_line(r)
    assert r.returncode == 1, out
    assert "imported 2 " in out
    assert rows(r.stderr) == {
        "locked": "failed: cannot read folder: Permission denied",
        "inner": "failed: cannot read: Permission denied",
    }


def test_status_of_no_site_is_an_error(tmp_path: Path) -> None:
    """A typo in --data-dir showed zero counts with exit 0, like an empty site."""
    (tmp_path / "a-file").write_text("x")
    cases = [(tmp_path / "missing", "does not exist"), (tmp_path / "a-file", "is not a folder")]
    for folder, what in cases:
        r = run_jip("status", "--data-dir", str(folder))
        assert r.returncode == 1
        assert f"no JIP site here: {folder} {what}" in one_line(r)


def test_status_says_running_only_for_its_own_folders_site(jip: JipProcess, tmp_path: Path) -> None:
    """Running was "yes" whenever any site answered on JIP_HTTP_PORT; it is this data
    folder's site lock that tells."""
    own = run_jip("status", "--json", env=jip.env)
    assert own.returncode == 0, own.stderr
    st = json.loads(own.stdout)
    assert (st["running"], st["pid"]) == (True, str(jip.proc.pid))
    assert st["listening"]["http"] == f"{jip.url}/"
    other = tmp_path / "other"
    other.mkdir()
    r = run_jip("status", "--json", env=dict(jip.env, JIP_DATA_DIR=str(other)))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["running"] is False  # although a site answers on the port


def test_status_reads_a_folder_it_cannot_write(tmp_path: Path) -> None:
    """Status only reads: it failed with "attempt to write a readonly database"."""
    write_series(SeriesSpec(slices=2, size=16), tmp_path / "in")
    env = {"JIP_DATA_DIR": str(tmp_path / "data")}
    assert run_jip("import", str(tmp_path / "in"), env=env).returncode == 0
    for p in [tmp_path / "data", *(tmp_path / "data").rglob("*")]:
        p.chmod(p.stat().st_mode & ~0o222)
    try:
        full = dict(os.environ, COLUMNS="500", **env)
        r = subprocess.run(
            [*without_root_privileges(), JIP, "status", "--json"],
            env=full, capture_output=True, text=True, timeout=120, cwd="/",
        )
        assert r.returncode == 0, r.stdout + r.stderr
        st = json.loads(r.stdout)
        assert (st["index_error"], st["counts"]["instances"]) == ("", 2)
    finally:
        for p in [tmp_path / "data", *(tmp_path / "data").rglob("*")]:
            p.chmod(p.stat().st_mode | 0o200)
