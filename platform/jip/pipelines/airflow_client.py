"""A small client for Airflow 3's public REST API (``/api/v2``), as the Airflow engine
needs it: trigger a DAG run with a conf, read and list DAG runs, fail a DAG run, unpause
the DAG.

Authentication is Airflow 3's: a JWT from ``POST /auth/token`` (simple auth manager or
any auth manager with that endpoint), renewed once on a 401. The password is a
``SecretStr`` and is never logged or put into an error message. Every HTTP failure is
translated into ``AirflowError`` at this boundary.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr

from jip.errors import JIPError

log = logging.getLogger(__name__)

FINISHED_STATES = ("success", "failed")


class AirflowError(JIPError):
    """Airflow could not be reached or refused the request; the context says which."""

    http_status = 503


@dataclass(frozen=True)
class DagRun:
    dag_run_id: str
    state: str
    conf: dict[str, Any]
    note: str = ""

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DagRun:
        return cls(
            str(data["dag_run_id"]),
            str(data["state"]),
            dict(data.get("conf") or {}),
            str(data.get("note") or ""),
        )


class AirflowClient:
    """Thread-safe: one token shared by the engine's callers and its poller."""

    def __init__(
        self,
        base_url: str,
        username: str = "",
        password: SecretStr | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._username = username
        self._password = password or SecretStr("")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)
        self._token: str | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    # -- API calls -------------------------------------------------------------------

    def trigger(self, dag_id: str, dag_run_id: str, conf: dict[str, Any]) -> DagRun:
        """Create a DAG run (no logical date: several runs may start at once)."""
        body = {"dag_run_id": dag_run_id, "logical_date": None, "conf": conf}
        return DagRun.from_json(self._request("POST", f"/api/v2/dags/{dag_id}/dagRuns", body))

    def get_run(self, dag_id: str, dag_run_id: str) -> DagRun:
        return DagRun.from_json(self._request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}"))

    def list_runs(self, dag_id: str, prefix: str) -> list[DagRun]:
        """DAG runs whose id starts with ``prefix``, oldest first (at most 100)."""
        data = self._request(
            "GET",
            f"/api/v2/dags/{dag_id}/dagRuns",
            params={"run_id_prefix_pattern": prefix, "order_by": "run_after", "limit": 100},
        )
        return [DagRun.from_json(d) for d in data.get("dag_runs", [])]

    def fail_run(self, dag_id: str, dag_run_id: str, note: str = "") -> DagRun:
        """Mark a DAG run failed: Airflow stops its running tasks and schedules no more."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}"
        body: dict[str, Any] = {"state": "failed"}
        if note:
            body["note"] = note
        return DagRun.from_json(self._request("PATCH", path, body))

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self._request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": paused})

    def health(self) -> dict[str, Any]:
        return dict(self._request("GET", "/api/v2/monitor/health", auth=False))

    # -- plumbing --------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        auth: bool = True,
    ) -> Any:
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self._get_token()}"} if auth else {}
            try:
                r = self._http.request(method, path, json=body, params=params, headers=headers)
            except httpx.HTTPError as exc:
                raise AirflowError(
                    f"Airflow at {self.base_url} is not reachable: {type(exc).__name__}",
                    path=path,
                ) from exc
            if r.status_code == 401 and auth and attempt == 1:
                with self._lock:
                    self._token = None  # expired or rotated secret: log in once more
                continue
            if r.status_code >= 400:
                raise AirflowError(
                    f"Airflow refused {method} {path}: {r.status_code} {_detail(r)}",
                    status=r.status_code,
                    path=path,
                )
            return r.json() if r.content else {}
        raise AssertionError("unreachable")

    def _get_token(self) -> str:
        with self._lock:
            if self._token is None:
                self._token = self._login()
            return self._token

    def _login(self) -> str:
        try:
            if self._username:
                creds = {"username": self._username, "password": self._password.get_secret_value()}
                r = self._http.post("/auth/token", json=creds)
            else:  # simple auth manager with all_admins: a token without credentials
                r = self._http.get("/auth/token")
        except httpx.HTTPError as exc:
            raise AirflowError(
                f"Airflow at {self.base_url} is not reachable: {type(exc).__name__}"
            ) from exc
        if r.status_code not in (200, 201):
            # never echo the request: it holds the password
            raise AirflowError(
                f"Airflow login as {self._username or '(no user)'} failed: {r.status_code}",
                status=r.status_code,
            )
        return str(r.json()["access_token"])


def _detail(r: httpx.Response) -> str:
    try:
        detail = r.json().get("detail", r.text)
    except ValueError:
        detail = r.text
    return str(detail)[:500]
