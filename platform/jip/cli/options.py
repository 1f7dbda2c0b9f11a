"""Checks of CLI options, light enough to import when the commands are registered."""

from __future__ import annotations

import typer


def ae_title_option(value: str | None) -> str | None:
    """Typer callback: an AE title option follows the rule of ``JIP_AE_TITLE``."""
    if value is not None:
        from jip.config import check_ae_title

        try:
            check_ae_title(value)
        except ValueError as exc:
            raise typer.BadParameter(f"{exc} (got {value!r})") from None
    return value
