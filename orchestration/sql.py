"""Quoting for SQL built from contracts and file names.

Identifiers are checked against an allow-list pattern and double-quoted; literals that cannot
be bound as parameters (file paths inside table functions) are single-quoted with escaping.
"""

from __future__ import annotations

import re

_SAFE_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_ \-/().£%]{0,127}$")


def is_safe_identifier(name: object) -> bool:
    """Whether ``name`` may be used as a (quoted) identifier: the allow-list, no ``--``."""
    return isinstance(name, str) and bool(_SAFE_IDENTIFIER.match(name)) and "--" not in name


def quote_identifier(name: str) -> str:
    """Double-quotes an identifier after checking it against the allow-list.

    Raises:
        ValueError: The name holds characters an identifier taken from a contract or a file
            header may not hold (quotes, semicolons, comment markers, control characters).
    """
    if not is_safe_identifier(name):
        raise ValueError(f"unsafe SQL identifier {name!r}")
    return '"' + name + '"'


def quote_literal(value: str) -> str:
    """Single-quotes a string literal, doubling embedded quotes and refusing NUL bytes."""
    if "\x00" in value:
        raise ValueError("a SQL literal cannot contain a NUL byte")
    return "'" + value.replace("'", "''") + "'"
