"""How a dataset is delivered: its landing server (format, folder, encoding) and its SLA."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestration.contracts.errors import ContractError, custom_properties

FORMATS = {
    "csv": (".csv",),
    "json": (".ndjson", ".jsonl", ".json"),
    "parquet": (".parquet",),
    "xlsx": (".xlsx",),
}
UNIT_DAYS = {"d": 1, "day": 1, "days": 1, "h": 1 / 24, "hour": 1 / 24, "hours": 1 / 24}


@dataclass(frozen=True)
class Landing:
    """The contract's ``landing`` server.

    Attributes:
        format: csv, json, parquet or xlsx.
        path: ``landing/<department>/<dataset>``.
        encoding: Text encoding of delimited files.
        delimiter: Field delimiter of delimited files.
    """

    format: str
    path: str
    encoding: str
    delimiter: str


def parse_landing(path: Path, doc: dict[str, Any], department: str, dataset: str) -> Landing:
    """The single server named ``landing``; its path must be ``landing/<dept>/<dataset>``."""
    servers = [s for s in doc.get("servers") or [] if s.get("server") == "landing"]
    if len(servers) != 1:
        raise ContractError(path, "servers", "exactly one server named 'landing' is required")
    server = servers[0]
    fmt = server.get("format")
    if fmt not in FORMATS:
        raise ContractError(
            path, "servers[landing].format", f"{fmt!r} is not one of {sorted(FORMATS)}"
        )
    expected_path = f"landing/{department}/{dataset}"
    if server.get("path", "").rstrip("/") != expected_path:
        raise ContractError(path, "servers[landing].path", f"must be {expected_path!r}")
    server_custom = custom_properties(server.get("customProperties"))
    return Landing(
        format=fmt,
        path=expected_path,
        encoding=str(server.get("encoding") or "utf-8"),
        delimiter=str(server_custom.get("delimiter") or ","),
    )


def sla_days(path: Path, doc: dict[str, Any], prop: str) -> float:
    """An ``slaProperties`` entry (``frequency`` or ``latency``) in days."""
    sla = {p.get("property"): p for p in doc.get("slaProperties") or []}
    entry = sla.get(prop)
    where = f"slaProperties[{prop}]"
    if entry is None:
        raise ContractError(path, where, f"a delivery {prop} is required")
    unit = str(entry.get("unit") or "d").lower()
    if unit not in UNIT_DAYS:
        raise ContractError(path, f"{where}.unit", f"unit {unit!r} is not d or h")
    try:
        return float(entry["value"]) * UNIT_DAYS[unit]
    except (TypeError, ValueError) as exc:
        raise ContractError(path, f"{where}.value", "must be a number") from exc
