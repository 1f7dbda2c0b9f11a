"""Segment colours: DICOM's scaled CIELab (RecommendedDisplayCIELabValue) to sRGB.

DICOM stores L*a*b* (D65) as three unsigned 16-bit values: L* = v0 * 100 / 65535,
a* and b* = v * 255 / 65535 - 128 (PS3.3 C.10.7.1.1).
"""

from __future__ import annotations

from collections.abc import Sequence

#: distinct colours for segments that carry no recommended colour (in segment order)
PALETTE = (
    "#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4",
    "#46f0f0", "#f032e6", "#bcf60c", "#fabebe", "#008080", "#e6beff",
)  # fmt: skip

_D65 = (0.95047, 1.0, 1.08883)


def default_color(segment_number: int) -> str:
    return PALETTE[(max(1, segment_number) - 1) % len(PALETTE)]


def dicom_lab_to_hex(value: Sequence[int | float]) -> str:
    """``#rrggbb`` of a DICOM scaled CIELab triple; ``ValueError`` if it is not one."""
    if len(value) != 3:
        raise ValueError(f"CIELab value needs 3 numbers, got {len(value)}")
    v0, v1, v2 = (float(v) for v in value)
    if not all(0 <= v <= 65535 for v in (v0, v1, v2)):
        raise ValueError(f"CIELab value out of range 0-65535: {list(value)}")
    return "#" + "".join(f"{c:02x}" for c in lab_to_rgb(
        v0 * 100 / 65535, v1 * 255 / 65535 - 128, v2 * 255 / 65535 - 128
    ))  # fmt: skip


def lab_to_rgb(lab_l: float, lab_a: float, lab_b: float) -> tuple[int, int, int]:
    """CIE L*a*b* (D65) to 8-bit sRGB, clipped to the gamut."""
    fy = (lab_l + 16) / 116
    fx = fy + lab_a / 500
    fz = fy - lab_b / 200

    def finv(t: float) -> float:
        return t**3 if t > 6 / 29 else 3 * (6 / 29) ** 2 * (t - 4 / 29)

    x, y, z = (w * finv(f) for w, f in zip(_D65, (fx, fy, fz), strict=True))
    linear = (
        3.2404542 * x - 1.5371385 * y - 0.4985314 * z,
        -0.9692660 * x + 1.8760108 * y + 0.0415560 * z,
        0.0556434 * x - 0.2040259 * y + 1.0572252 * z,
    )

    def gamma(c: float) -> int:
        c = min(1.0, max(0.0, c))
        s = 12.92 * c if c <= 0.0031308 else 1.055 * c ** (1 / 2.4) - 0.055
        return round(s * 255)

    r, g, b = (gamma(c) for c in linear)
    return r, g, b
