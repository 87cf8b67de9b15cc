"""One setting's text as values: numbers, comma lists and choices, with a message naming the bad item.

Why a module of its own: :mod:`lrtui.engine.config` holds what a run is and the table of its
settings; this is the grammar every setting shares (``0.5, 1e-2``, ``"is not a number"``, a
message kept to one bounded line). No torch, no RunConfig.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

#: Most values one setting's comma list may hold.
MAX_SWEEP = 16


class ConfigError(ValueError):
    """Invalid fields. ``errors`` maps each field name to a message naming the allowed range."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = {k: _bounded(v) for k, v in errors.items()}
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


#: the longest message one field's error keeps: a 100,000-digit seed is named, not printed
MESSAGE_CHARS = 160


def _bounded(message: str) -> str:
    """A field's message of bounded length, on one line: the middle of an over-long value gives way."""
    message = " ".join(str(message).split())
    if len(message) <= MESSAGE_CHARS:
        return message
    cut = len(message) - MESSAGE_CHARS + 1
    head = MESSAGE_CHARS // 3
    return f"{message[:head]}…({cut:,} characters left out)…{message[head + cut :]}"


def _number(text: Any, name: str, errors: dict[str, str], *, integer: bool = False) -> float | int | None:
    """Parse a number, recording a message on failure (non-number, NaN, inf)."""
    if isinstance(text, bool):
        errors[name] = f"{text!r} is not a number"
        return None
    if isinstance(text, (int, float)):
        value: float | int = text
    else:
        s = str(text).strip()
        if not s:
            errors[name] = "is required"
            return None
        try:
            value = int(s) if integer else float(s)
        except ValueError:
            try:
                as_float = float(s)
            except ValueError:
                errors[name] = f"{s!r} is not a number"
                return None
            if integer and as_float.is_integer():
                value = int(as_float)
            elif integer and s.lstrip("+-").isascii() and s.lstrip("+-").isdigit():
                errors[name] = f"{s!r} is too large ({len(s.lstrip('+-')):,} digits)"  # past int()'s digit limit
                return None
            else:
                errors[name] = f"{s!r} is not a whole number"
                return None
    if isinstance(value, float) and not math.isfinite(value):
        errors[name] = "must be a finite number"
        return None
    if integer and isinstance(value, float):
        if not value.is_integer():
            errors[name] = f"{value!r} is not a whole number"
            return None
        value = int(value)
    return value


def _items(value: Any) -> list[Any]:
    """A raw setting as list items: a comma (or semicolon) separated string is split, a list/tuple kept."""
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str):
        return value.replace(";", ",").split(",")
    return [value]


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _parse_list(
    value: Any, name: str, parse_one: Callable[[Any, dict[str, str]], Any], errors: dict[str, str]
) -> list[Any] | None:
    """Parse a comma list with ``parse_one`` (which records a message naming the bad item and returns None).

    Duplicates are dropped, keeping the first (``0.01, 1e-2`` is one run: repeats of a setting
    add nothing a list of seeds does not say better). Order is the user's. None on any error.
    """
    parts = _items(value)
    if len(parts) > 1 and any(_blank(p) for p in parts):
        errors[name] = "has an empty item in the list"
        return None
    values: list[Any] = []
    for part in parts:
        parsed = parse_one(part, errors)
        if parsed is None:
            return None
        if parsed not in values:
            values.append(parsed)
    if len(parts) > MAX_SWEEP:
        errors[name] = f"at most {MAX_SWEEP} values in one list (got {len(parts)})"
        return None
    return values


def _choice(name: str, choices: tuple[str, ...]) -> Callable[[Any, dict[str, str]], str | None]:
    def parse(item: Any, errors: dict[str, str]) -> str | None:
        text = str(item if item is not None else "").strip().lower()
        if text not in choices:
            errors[name] = f"{text!r} is unknown: choose one of {', '.join(choices)}"
            return None
        return text

    return parse


def _ranged(
    name: str, ok: Callable[[Any], bool], why: str, *, integer: bool = False
) -> Callable[[Any, dict[str, str]], float | int | None]:
    """An item parser for a number that must satisfy ``ok``; ``why`` completes "… is out of range: "."""

    def parse(item: Any, errors: dict[str, str]) -> float | int | None:
        value = _number(item, name, errors, integer=integer)
        if value is None:
            return None
        if not ok(value):
            errors[name] = f"{value if integer else format(value, 'g')} is out of range: {why}"
            return None
        return int(value) if integer else float(value)

    return parse
