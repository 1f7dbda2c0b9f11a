"""HTTP media types and multipart/related bodies (RFC 2387) for DICOMweb.

Parsing is strict enough to reject garbage with a clear 400 and lenient where real
clients differ (quoted or bare parameters, preamble before the first boundary).
Responses are generated part by part so a study never has to sit in memory at once.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from jip.errors import InvalidInputError, JIPError

_TOKEN_RE = re.compile(r"^[A-Za-z0-9!#$&^_.+*-]+/[A-Za-z0-9!#$&^_.+*-]+$")
_BOUNDARY_RE = re.compile(r"^[0-9A-Za-z'()+_,\-./:=? ]{1,70}$")
_MAX_PART_HEADER = 16 * 1024


class PayloadTooLargeError(JIPError):
    """The request body is over the configured limit; nothing of it was stored."""

    http_status = 413


@dataclass(frozen=True, slots=True)
class MediaRange:
    """One entry of an Accept header or a Content-Type: ``type/subtype; params``."""

    mime: str
    params: dict[str, str] = field(default_factory=dict)
    q: float = 1.0

    def matches(self, mime: str) -> bool:
        """True if this (possibly wildcard) range covers the concrete ``mime``."""
        if self.mime in ("*/*", mime):
            return True
        major, _, minor = self.mime.partition("/")
        return minor == "*" and mime.startswith(major + "/")


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    out: list[str] = []
    buf: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            out.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    out.append("".join(buf))
    return out


def parse_media_type(text: str) -> MediaRange:
    """Parse one ``type/subtype; a=b; c="d"``; raises ``InvalidInputError`` if malformed."""
    pieces = _split_outside_quotes(text, ";")
    mime = pieces[0].strip().lower()
    if not _TOKEN_RE.match(mime):
        raise InvalidInputError(f"malformed media type {text.strip()!r}")
    params: dict[str, str] = {}
    q = 1.0
    for piece in pieces[1:]:
        if not piece.strip():
            continue
        name, eq, value = piece.partition("=")
        if not eq:
            raise InvalidInputError(f"malformed media type parameter {piece.strip()!r}")
        name = name.strip().lower()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if name == "q":
            try:
                q = float(value)
            except ValueError as exc:
                raise InvalidInputError(f"bad q value {value!r}") from exc
            continue
        params[name] = value
    return MediaRange(mime, params, q)


def parse_accept(header: str | None) -> list[MediaRange]:
    """Accept header entries, best first; no header means ``*/*``. q=0 entries are dropped."""
    if header is None or not header.strip():
        return [MediaRange("*/*")]
    ranges = [parse_media_type(p) for p in _split_outside_quotes(header, ",") if p.strip()]
    ranges = [r for r in ranges if r.q > 0]
    return sorted(ranges, key=lambda r: -r.q)  # stable: equal q keeps the client's order


def new_boundary() -> str:
    return uuid.uuid4().hex


def multipart_content_type(part_type: str, boundary: str) -> str:
    return f'multipart/related; type="{part_type}"; boundary={boundary}'


def stream_multipart(parts: Iterable[tuple[bytes, str]], boundary: str) -> Iterator[bytes]:
    """Yield a multipart/related body from ``(body, content_type)`` pairs, lazily."""
    first = True
    for body, content_type in parts:
        lead = b"" if first else b"\r\n"
        first = False
        yield lead + f"--{boundary}\r\nContent-Type: {content_type}\r\n\r\n".encode("ascii")
        yield body
    if first:  # no part at all: still a well-formed (empty) multipart body
        yield f"--{boundary}--\r\n".encode("ascii")
    else:
        yield f"\r\n--{boundary}--\r\n".encode("ascii")


@dataclass(frozen=True, slots=True)
class Part:
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


def boundary_of(content_type: MediaRange) -> str:
    boundary = content_type.params.get("boundary", "")
    if not _BOUNDARY_RE.match(boundary) or boundary.endswith(" "):
        raise InvalidInputError("multipart/related request without a valid boundary parameter")
    return boundary


def parse_multipart(body: bytes, boundary: str) -> list[Part]:
    """Split a multipart body into parts; raises ``InvalidInputError`` on a malformed body.

    A preamble before the first delimiter and an epilogue after the closing one are
    ignored (RFC 2046); a body without a closing delimiter is rejected as truncated."""
    dash = b"--" + boundary.encode("ascii")
    delim = b"\r\n" + dash
    if body.startswith(dash):
        pos = len(dash)
    else:
        idx = body.find(delim)
        if idx < 0:
            raise InvalidInputError("multipart body does not contain its boundary")
        pos = idx + len(delim)
    parts: list[Part] = []
    while True:
        if body.startswith(b"--", pos):
            return parts
        eol = body.find(b"\r\n", pos)
        if eol < 0 or body[pos:eol].strip(b" \t"):
            raise InvalidInputError("malformed multipart delimiter line")
        start = eol + 2
        end = body.find(delim, start)
        if end < 0:
            raise InvalidInputError("multipart body is truncated (no closing boundary)")
        parts.append(_parse_part(body[start:end]))
        pos = end + len(delim)


def _parse_part(raw: bytes) -> Part:
    if raw.startswith(b"\r\n"):
        return Part({}, raw[2:])
    sep = raw.find(b"\r\n\r\n", 0, _MAX_PART_HEADER)
    if sep < 0:
        raise InvalidInputError("multipart part without a header/body separator")
    headers: dict[str, str] = {}
    for line in raw[:sep].split(b"\r\n"):
        name, colon, value = line.partition(b":")
        if not colon:
            raise InvalidInputError("malformed multipart part header")
        headers[name.strip().decode("latin-1").lower()] = value.strip().decode("latin-1")
    return Part(headers, raw[sep + 4 :])
