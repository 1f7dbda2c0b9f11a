"""Split multipart responses with python-multipart (a parser JIP did not write), so the
tests do not check JIP's multipart writer with JIP's own reader."""

from __future__ import annotations

import httpx
from python_multipart import MultipartParser


def split_multipart(response: httpx.Response) -> list[tuple[str, bytes]]:
    """``(part Content-Type, body)`` for each part of a multipart/related response."""
    ctype = response.headers["content-type"]
    assert ctype.startswith("multipart/related"), ctype
    params = dict(p.strip().split("=", 1) for p in ctype.split(";")[1:] if "=" in p)
    boundary = params["boundary"].strip('"')
    parts: list[tuple[str, bytes]] = []
    state: dict[str, object] = {}

    def on_part_begin() -> None:
        state.update(headers={}, data=bytearray(), field=b"", value=b"")

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["field"] = bytes(state["field"]) + data[start:end]  # type: ignore[arg-type]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] = bytes(state["value"]) + data[start:end]  # type: ignore[arg-type]

    def on_header_end() -> None:
        headers: dict[str, str] = state["headers"]  # type: ignore[assignment]
        headers[bytes(state["field"]).decode().lower()] = bytes(state["value"]).decode()  # type: ignore[arg-type]
        state.update(field=b"", value=b"")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        buf: bytearray = state["data"]  # type: ignore[assignment]
        buf += data[start:end]

    def on_part_end() -> None:
        headers: dict[str, str] = state["headers"]  # type: ignore[assignment]
        parts.append((headers.get("content-type", ""), bytes(state["data"])))  # type: ignore[arg-type]

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    parser.write(response.content)
    parser.finalize()
    return parts
