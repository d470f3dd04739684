"""The error a contract raises, and small helpers every part of the contract parser shares."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

# A safe lower_snake_case name (departments, datasets, properties, rules, staging columns).
# ``\Z``, not ``$``: ``$`` also matches before a trailing newline, so "nino\n" passed.
IDENTIFIER = re.compile(r"\A[a-z][a-z0-9_]{0,62}\Z")


class ContractError(ValueError):
    """A contract file is invalid. The message names the file and the field."""

    def __init__(self, path: Path | str, field_path: str, message: str):
        self.path = str(path)
        self.field_path = field_path
        super().__init__(f"{path}: {field_path}: {message}")


def require(path: Path, where: str, value: Any, what: str) -> Any:
    """Returns ``value``; raises naming ``where`` when it is missing or empty."""
    if value in (None, "", [], {}):
        raise ContractError(path, where, f"{what} is required")
    return value


def custom_properties(props: list[dict[str, Any]] | None) -> dict[str, Any]:
    """An ODCS ``customProperties`` list as a mapping of property to value."""
    return {p["property"]: p.get("value") for p in props or [] if "property" in p}


def json_path(parts) -> str:
    """A JSON Schema error location written like ``schema[0].properties[1].name``."""
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(root)"


def check_name(path: Path, where: str, value: Any) -> str:
    """Returns ``value`` when it is a string without control characters or outer whitespace.

    Names (ids, physical names) end up in SQL, file names and logs: a newline, a tab, a
    zero-width or other control character, or a space at either end is refused.
    """
    if not isinstance(value, str):
        raise ContractError(path, where, f"must be a string, not {type(value).__name__}")
    bad = [c for c in value if unicodedata.category(c) in {"Cc", "Cf", "Zl", "Zp"}]
    if bad:
        raise ContractError(path, where, f"{value!r} holds the control character {bad[0]!r}")
    if value != value.strip():
        raise ContractError(path, where, f"{value!r} starts or ends with whitespace")
    return value
