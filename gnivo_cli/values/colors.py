"""One diverging colour scale for the terminal and the page: red below 0, white at 0, blue above 0.

The ends are ColorBrewer's RdBu (readable by most colour-blind readers); a value at ±limit gets the full
colour, beyond it the same. Text on a token takes black or white, whichever reads on its background.
"""

from __future__ import annotations

NEGATIVE = (178, 24, 43)  # RdBu's dark red
MIDDLE = (247, 247, 247)
POSITIVE = (33, 102, 172)  # RdBu's dark blue

RGB = tuple[int, int, int]


def diverging(value: float, limit: float) -> RGB:
    """The colour of `value` on a scale that is full at ±`limit` (a limit of 0 shows everything white)."""
    if not limit > 0:
        return MIDDLE
    share = max(-1.0, min(1.0, value / limit))
    end = POSITIVE if share > 0 else NEGATIVE
    weight = abs(share)
    return tuple(round(m + (e - m) * weight) for m, e in zip(MIDDLE, end, strict=True))  # type: ignore[return-value]


def readable_text(background: RGB) -> RGB:
    """Black or white, whichever contrasts more with `background` (relative luminance, WCAG)."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * linear(background[0]) + 0.7152 * linear(background[1]) + 0.0722 * linear(background[2])
    return (0, 0, 0) if luminance > 0.179 else (255, 255, 255)


def hex_color(rgb: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)
