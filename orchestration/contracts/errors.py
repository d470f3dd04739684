"""The error a contract raises, and small helpers every part of the contract parser shares."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

# A safe lower_snake_case name (departments, datasets, properties, rules, staging columns).
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


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
