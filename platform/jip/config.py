"""One typed settings object; nothing else in JIP reads ``os.environ``.

Values come from ``JIP_*`` environment variables, then from an optional TOML/YAML
config file named by ``JIP_CONFIG`` (environment wins), then from defaults.
Bad values raise at start-up, never later.
"""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from sqlalchemy.exc import ArgumentError

from jip.errors import StorageError


class DicomPeer(BaseModel):
    """A remote DICOM node JIP may send to (C-MOVE destination) or pull from (PACS).
    A plain model, not settings: its fields must never be filled from bare env vars."""

    ae_title: str
    host: str = "127.0.0.1"
    port: int = Field(104, ge=1, le=65535)

    @field_validator("ae_title")
    @classmethod
    def _check_ae(cls, v: str) -> str:
        return check_ae_title(v)


def check_ae_title(v: str) -> str:
    """An AE title is 1-16 printable characters without backslash (PS3.5 6.2, AE VR)."""
    if not v or len(v) > 16 or "\\" in v or not v.isprintable():
        raise ValueError("AE title must be 1-16 printable characters without backslash")
    return v


class ConfigFileError(ValueError):
    """The file named by ``JIP_CONFIG`` is missing, unreadable, not YAML or no mapping."""


class _ConfigFileSource(PydanticBaseSettingsSource):
    """Reads the YAML file named by ``JIP_CONFIG`` (YAML is a superset of JSON)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = os.environ.get("JIP_CONFIG")
        if not path:
            return {}
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except OSError as exc:
            raise ConfigFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            where = getattr(exc, "problem_mark", None)
            line = f" (line {where.line + 1})" if where is not None else ""
            raise ConfigFileError(f"{path} is not valid YAML{line}") from exc
        if not isinstance(data, dict):
            raise ConfigFileError(f"{path} must hold a mapping of setting names to values")
        return data


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JIP_", extra="ignore")

    data_dir: Path = Path("./jip-data")
    bind_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=0, le=65535)
    dicom_port: int = Field(11112, ge=0, le=65535)
    ae_title: str = "JIP"
    auth: Literal["on", "off"] = "off"

    # storage and index backends
    store_backend: Literal["filesystem", "s3"] = "filesystem"
    s3_endpoint: str = "127.0.0.1:9000"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_bucket: str = "jip"
    s3_secure: bool = False
    database_url: str = ""  # empty: SQLite under data_dir

    # DICOM network policy
    allowed_calling_aets: list[str] = []  # empty: any calling AE
    require_called_aet: bool = True
    max_associations: int = Field(16, ge=1)
    max_pdu_size: int = Field(262144, ge=0)
    dimse_timeout: float = 60.0
    network_timeout: float = 60.0
    acse_timeout: float = 30.0
    # storage/verification associations bypass pynetdicom's reactor (see
    # dicom/storage_fast_path.py); off = every association through pynetdicom
    dicom_fast_store: bool = True
    # each fast-path association in a worker process of its own (storage_processes.py);
    # off = in the listener's threads, sharing the site process's interpreter lock
    dicom_store_processes: bool = True
    peers: dict[str, DicomPeer] = {}

    # events and rendering
    series_quiet_seconds: float = Field(10.0, ge=0)
    thumbnail_size: int = Field(128, ge=16, le=1024)

    # query (QIDO-RS, C-FIND): most results one QIDO-RS response carries; more are
    # announced with a "Warning: 299" header and fetched with offset
    qido_max_results: int = Field(1000, ge=1, le=100000)

    # browser UI (issue 4): folder of the built frontend; empty = frontend/dist of the checkout
    ui_dir: Path | None = None
    # DICOMweb WADO-RS/STOW-RS (wado): largest STOW-RS request body accepted (413 above)
    stow_max_bytes: int = Field(1 << 30, ge=1024)
    # absolute URL clients reach /dicomweb by (behind a proxy); empty: from the request
    dicomweb_public_url: str = ""
    # pipelines (issue 5): workflow engine, algorithm runner and their limits
    workflow_engine: Literal["local", "airflow"] = "local"
    runner: Literal["docker", "kubernetes", "process"] = "docker"
    algorithms_dirs: list[Path] = []  # empty: the repository's algorithms/ folder
    pipeline_workers: int = Field(4, ge=1, le=64)  # containers wait on I/O: > cores
    pipeline_poll_seconds: float = Field(1.0, gt=0)
    docker_host: str = ""  # empty: the docker CLI's default (DOCKER_HOST or /var/run)
    docker_binary: str = "docker"
    kubernetes_namespace: str = "jip"
    kubernetes_runs_claim: str = "jip-runs"  # PVC holding data_dir/runs inside the cluster
    algorithm_user: str = "65534:65534"  # uid:gid algorithms run as (never root)
    image_cache_dir: Path | None = None  # root fs tarball + wheels; default data_dir/image-cache

    # airflow workflow engine (issue 5): Airflow 3 REST API; the password only from env/config
    airflow_url: str = "http://127.0.0.1:8081"
    airflow_username: str = ""  # empty: token without credentials (simple auth all_admins)
    airflow_password: SecretStr = SecretStr("")
    airflow_dag_id: str = "jip_pipeline"
    airflow_jip_bin: str = ""  # jip that Airflow tasks call; empty: the one beside this Python
    airflow_poll_seconds: float = Field(5.0, gt=0)
    airflow_timeout: float = Field(30.0, gt=0)
    # airflow engine speed (airflowfat): jobs per mapped Airflow task group; each of its three
    # tasks is one `jip pipeline step` process running the step for the whole batch
    airflow_batch_size: int = Field(100, ge=1, le=1000)
    # steps run in a warm `jip pipeline step-server` on the worker (off: a fresh jip process
    # per task, e.g. with the KubernetesExecutor where every task is a new pod)
    airflow_step_server: bool = True
    # image digests (airflowfat): the docker runner refuses manifests that pin no image_digest
    require_image_digest: bool = False

    @field_validator("ae_title")
    @classmethod
    def _check_ae(cls, v: str) -> str:
        return check_ae_title(v)

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, v: str) -> str:
        """Only the two index backends JIP has; the URL itself (password!) is never echoed."""
        if not v:
            return v
        from sqlalchemy.engine import make_url

        scheme = v.split("://", 1)[0] if "://" in v else ""
        if scheme not in _DATABASE_SCHEMES:
            got = f"scheme {scheme!r}" if scheme else "no scheme"
        else:
            try:
                make_url(v).port  # noqa: B018 - a port that is no number raises here
                return v
            except (ArgumentError, ValueError):
                got = "a URL that cannot be parsed"
        raise ValueError(
            "must be empty (SQLite in the data folder), sqlite:///<file> or "
            f"postgresql://user:password@host[:port]/database (got {got})"
        )

    @model_validator(mode="after")
    def _check_s3_endpoint(self) -> Settings:
        """``host[:port]``; an ``http://``/``https://`` URL is taken too and sets
        ``s3_secure`` (the S3 client would refuse it as "path in endpoint")."""
        endpoint = self.s3_endpoint
        if "://" in endpoint:
            scheme, _, endpoint = endpoint.partition("://")
            if scheme.lower() not in ("http", "https"):
                raise ValueError(f"JIP_S3_ENDPOINT scheme must be http or https (got {scheme!r})")
            self.s3_secure = scheme.lower() == "https"
        endpoint = endpoint.rstrip("/")
        try:
            parts = urlsplit(f"//{endpoint}")
            extra = parts.path or parts.query or parts.fragment or parts.username
            valid = bool(parts.hostname) and parts.port != 0 and not extra
        except ValueError:  # a port that is no number or beyond 65535
            valid = False
        if not valid:
            raise ValueError(
                "JIP_S3_ENDPOINT must be host[:port] or http(s)://host[:port], without a path "
                "(the bucket is JIP_S3_BUCKET)"
            )
        self.s3_endpoint = endpoint
        return self

    @model_validator(mode="after")
    def _check_auth_bind(self) -> Settings:
        """No login exists yet (it comes with users and roles), so ``on`` would promise
        a protection nothing gives: refused, and with it every address but loopback."""
        if self.auth == "on":
            raise ValueError(
                "JIP_AUTH=on needs login, which this JIP does not have yet; "
                "run with JIP_AUTH=off on a loopback JIP_BIND_HOST"
            )
        if not _is_loopback(self.bind_host):
            raise ValueError(
                "without login JIP serves only on loopback: JIP_BIND_HOST must be a "
                f"loopback address (got {self.bind_host!r})"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _ConfigFileSource(settings_cls))

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'index.sqlite3').resolve()}"

    def ensure_dirs(self) -> None:
        """Raises ``StorageError`` naming the folder and the setting if it cannot be made."""
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a file in the way, no permission, read-only mount
            raise unusable_data_folder(self.data_dir, exc) from exc


_DATABASE_SCHEMES = ("sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg")


def unusable_data_folder(folder: Path, exc: OSError) -> StorageError:
    reason = exc.strerror or str(exc)
    return StorageError(f"cannot use the data folder {folder} (JIP_DATA_DIR): {reason}")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@lru_cache
def get_settings() -> Settings:
    return Settings()
