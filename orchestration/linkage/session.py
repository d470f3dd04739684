"""The linkage's own DuckDB connection: its memory limit, and the warehouse attached to it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from orchestration.sql import quote_literal

LINKAGE_MEMORY_LIMIT = "2GB"
"""Most memory the linkage connection's DuckDB may hold, whatever the pipeline's limit: with
the Python process around it (Splink, the clustering arrays) the linkage stays within 4 GiB
at 1,000,000 citizens; DuckDB spills the rest to disk."""

_MEMORY_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}


def _memory_bytes(limit: str) -> float | None:
    """Bytes of a DuckDB memory setting such as ``8GB`` or ``1.5 GiB`` (None if unreadable)."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", limit)
    if not match:
        return None
    unit = _MEMORY_UNITS.get((match.group(2) or "b").lower())
    return float(match.group(1)) * unit if unit else None


def linkage_memory_limit(memory_limit: str) -> str:
    """The smaller of ``memory_limit`` and :data:`LINKAGE_MEMORY_LIMIT`."""
    requested = _memory_bytes(memory_limit)
    cap = _memory_bytes(LINKAGE_MEMORY_LIMIT)
    return memory_limit if requested is not None and requested <= cap else LINKAGE_MEMORY_LIMIT


def linkage_connection(memory_limit: str, temp_dir: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection for Splink, spilling to ``temp_dir`` when it must.

    Args:
        memory_limit: The pipeline's DuckDB memory limit; the connection takes the smaller
            of it and :data:`LINKAGE_MEMORY_LIMIT`.
        temp_dir: Where DuckDB spills.
    """
    temp_dir.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(
        ":memory:",
        config={
            "memory_limit": linkage_memory_limit(memory_limit),
            "temp_directory": str(temp_dir),
            "preserve_insertion_order": False,
        },
    )


@contextmanager
def warehouse_session(
    warehouse: Path, memory_limit: str, temp_dir: Path
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A linkage connection with the warehouse attached as ``wh``, detached on exit.

    DuckDB allows one writer process per file: call this only from the pipeline's process,
    never while another connection to the warehouse is open in it.
    """
    con = linkage_connection(memory_limit, temp_dir)
    try:
        con.execute(f"attach {quote_literal(str(warehouse))} as wh").complete()
        yield con
    finally:
        con.close()
