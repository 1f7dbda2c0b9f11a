"""A small client of the Docker Engine API over its unix socket.

The runner talks to the daemon directly instead of spawning the docker CLI for each
step: a CLI call costs a process start (tens to hundreds of ms on a busy machine),
an API call over the socket about a millisecond. That is most of the per-job overhead.
"""

from __future__ import annotations

import struct
from typing import Any
from urllib.parse import quote

import httpx

from jip.errors import JIPError

API = "/v1.41"  # Docker 20.10; newer daemons still serve it


class DockerAPIError(JIPError):
    http_status = 503

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message, status=status)
        self.status = status


def socket_path(docker_host: str) -> str:
    """``unix:///path`` (or empty for the default socket) -> the socket path."""
    if not docker_host:
        return "/var/run/docker.sock"
    if docker_host.startswith("unix://"):
        return docker_host[len("unix://"):]
    raise DockerAPIError(f"only unix:// docker hosts are supported, got {docker_host!r}")


class DockerAPI:
    def __init__(self, docker_host: str, timeout: float = 60) -> None:
        transport = httpx.HTTPTransport(uds=socket_path(docker_host))
        self.http = httpx.Client(transport=transport, base_url="http://docker" + API,
                                 timeout=timeout)

    def _call(self, method: str, path: str, ok: tuple[int, ...] = (200, 201, 204),
              **kw: Any) -> httpx.Response:
        try:
            r = self.http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise DockerAPIError(f"docker daemon unreachable: {exc}") from exc
        if r.status_code not in ok:
            try:
                msg = r.json().get("message", r.text)
            except ValueError:
                msg = r.text
            raise DockerAPIError(f"docker {method} {path}: {msg}", status=r.status_code)
        return r

    def image_id(self, image: str) -> str | None:
        found = self.inspect_image(image)
        return None if found is None else str(found["Id"])

    def inspect_image(self, image: str) -> dict[str, Any] | None:
        """``Id``, ``RepoDigests``, ... of a local image; None if it is not here."""
        r = self._call("GET", f"/images/{quote(image, safe='')}/json", ok=(200, 404))
        if r.status_code == 404:
            return None
        data: dict[str, Any] = r.json()
        return data

    def create(self, name: str, body: dict[str, Any]) -> str:
        r = self._call("POST", "/containers/create", params={"name": name}, json=body,
                       ok=(201, 409))
        if r.status_code == 409:  # a leftover of a crashed JIP holds the name
            self.remove(name)
            r = self._call("POST", "/containers/create", params={"name": name}, json=body)
        return str(r.json()["Id"])

    def start(self, cid: str) -> None:
        self._call("POST", f"/containers/{cid}/start", ok=(204, 304))

    def inspect(self, cid: str) -> dict[str, Any]:
        data: dict[str, Any] = self._call("GET", f"/containers/{cid}/json").json()
        return data

    def wait(self, cid: str, timeout: float) -> None:
        """Block until the container stops (or ``timeout`` passes: then raises)."""
        self._call("POST", f"/containers/{cid}/wait", ok=(200, 404),
                   timeout=httpx.Timeout(timeout, connect=10))

    def kill(self, cid: str) -> None:
        self._call("POST", f"/containers/{cid}/kill", ok=(204, 404, 409))

    def remove(self, cid: str) -> None:
        self._call("DELETE", f"/containers/{cid}", params={"force": "1", "v": "1"},
                   ok=(204, 404, 409))

    def logs(self, cid: str) -> bytes:
        """stdout and stderr interleaved as written (the stream is multiplexed)."""
        raw = self._call("GET", f"/containers/{cid}/logs",
                         params={"stdout": "1", "stderr": "1"}).content
        return demux(raw)

    def close(self) -> None:
        self.http.close()


def demux(raw: bytes) -> bytes:
    """Strip the 8-byte frame headers of a non-TTY container's log stream."""
    out = bytearray()
    i = 0
    while i + 8 <= len(raw):
        kind = raw[i]
        if kind not in (0, 1, 2):  # not multiplexed after all
            return raw
        (size,) = struct.unpack(">I", raw[i + 4 : i + 8])
        out += raw[i + 8 : i + 8 + size]
        i += 8 + size
    return bytes(out)
