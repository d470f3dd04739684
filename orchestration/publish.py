"""Write-audit-publish: the read-only analytics snapshot analysts query.

The pipeline writes the warehouse; analysts read ``<data dir>/published/analytics.duckdb``.
A new snapshot is written to a temporary file beside it (the publishable conformed tables and
marts, and the governance tables meant for analysts), checked, and moved into place with one
atomic rename. An analyst who has the previous snapshot open keeps reading it undisturbed (the
old file lives on until they close it), never waits for the pipeline, and never sees a
half-written snapshot.
Nothing is published unless every blocking (ERROR) quality check passed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration import governance
from orchestration.sql import quote_identifier, quote_literal
from orchestration.state import fsync_directory

SNAPSHOT_NAME = "analytics.duckdb"
PUBLISHED_LAYERS = ("conformed", "marts")
GOVERNANCE_SCHEMA = "governance"
SNAPSHOT_ALIAS = "snapshot"

PUBLISHED_GOVERNANCE_TABLES: dict[str, tuple[str, ...]] = {
    "quality_results": (),
    "quality_scorecard": (),
    "quality_declarations": (),
    "contracts": ("contract_path",),
    "linkage_metrics": (),
    "linkage_source_pairs": (),
    "consent_exclusions": (),
}
"""The governance tables analysts get, each with the columns left out of its published copy.

The one list of what governance publishes (besides ``governance.publication``, which every
snapshot holds). Left out: ``ingestion_log`` (landing-zone file paths, and rejected delivered
values in its messages), ``sharing_log`` (extract paths and consumers) and the contracts'
file paths. Quality, linkage and consent results are aggregates, so they are published."""


class PublishRefused(RuntimeError):
    """Publishing was refused; the message says which checks or columns stopped it."""


@dataclass(frozen=True)
class PublishedModel:
    """A dbt model that is published: its asset layer, name, schema and description."""

    layer: str
    name: str
    schema: str
    description: str

    @property
    def dataset(self) -> str:
        """``<layer>.<name>``: the name quality results use."""
        return f"{self.layer}.{self.name}"


def published_models(manifest_path: Path) -> list[PublishedModel]:
    """The conformed and mart models of the dbt manifest, which the snapshot publishes.

    Staging, intermediate and seeds are never published: staging holds direct identifiers
    and intermediate is internal matching data. A model whose ``meta.publish`` is false
    (e.g. an unsuppressed internal mart kept for reconciliation) is not published either.
    """
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    models = []
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model":
            continue
        schema = node.get("schema") or ""
        layer = "marts" if schema.startswith("marts") else schema
        meta = {**(node.get("meta") or {}), **((node.get("config") or {}).get("meta") or {})}
        if layer in PUBLISHED_LAYERS and meta.get("publish", True) is not False:
            models.append(
                PublishedModel(layer, node["name"], schema, node.get("description") or "")
            )
    return sorted(models, key=lambda m: (m.layer, m.name))


def published_tables(models: Iterable[PublishedModel]) -> list[tuple[str, str]]:
    """``(schema, table)`` of everything a snapshot copies: the published models and
    :data:`PUBLISHED_GOVERNANCE_TABLES` (``governance.publication`` is written, not copied)."""
    tables = {(m.schema, m.name) for m in models}
    tables |= {(GOVERNANCE_SCHEMA, name) for name in PUBLISHED_GOVERNANCE_TABLES}
    return sorted(tables)


def blocking_failures(con: duckdb.DuckDBPyConnection, checks: Iterable[tuple[str, str]]) -> list:
    """Current ERROR checks whose latest result failed: ``(dataset, check_name, error)``."""
    keys = [list(c) for c in checks]
    if not keys:
        return []
    exists = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'governance' and table_name = 'quality_results'"
    ).fetchone()[0]
    if not exists:
        return []
    con.execute(
        "create or replace temp table _publish_checks (dataset varchar, check_name varchar)"
    )
    con.executemany("insert into _publish_checks values (?, ?)", keys)
    return con.execute(
        """
        select r.dataset, r.check_name, r.error
        from governance.quality_results as r
        inner join _publish_checks as c
            on r.dataset = c.dataset and r.check_name = c.check_name
        qualify row_number() over (
            partition by r.dataset, r.check_name order by r.validated_at desc
        ) = 1 and r.severity = 'ERROR' and not r.success
        order by all
        """
    ).fetchall()


def _existing(con: duckdb.DuckDBPyConnection, tables: Sequence[tuple[str, str]]) -> set:
    rows = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = current_database()"
    ).fetchall()
    return set(rows) & set(tables)


def _omitted(schema: str, table: str) -> tuple[str, ...]:
    return PUBLISHED_GOVERNANCE_TABLES.get(table, ()) if schema == GOVERNANCE_SCHEMA else ()


def forbidden_columns_found(
    con: duckdb.DuckDBPyConnection, tables: Sequence[tuple[str, str]], forbidden: set[str]
) -> list[str]:
    """``schema.table.column`` of every published column named like a direct identifier."""
    found = []
    for schema, table in tables:
        columns = con.execute(
            "select column_name from information_schema.columns "
            "where table_catalog = current_database() and table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()
        found += [
            f"{schema}.{table}.{c}"
            for (c,) in columns
            if c.lower() in forbidden and c not in _omitted(schema, table)
        ]
    return found


@dataclass(frozen=True)
class Publication:
    """A published snapshot: where it is, which run wrote it, and what it holds."""

    path: Path
    run_id: str
    published_at: datetime
    tables: tuple[tuple[str, str, int], ...]


def publish_snapshot(
    con: duckdb.DuckDBPyConnection,
    published_dir: Path,
    tables: Sequence[tuple[str, str]],
    run_id: str,
    forbidden_columns: set[str],
) -> Publication:
    """Writes a new snapshot of ``tables`` and swaps it in atomically.

    Only the tables named are copied, never a whole schema: an internal mart
    (``meta.publish: false``) beside a published one stays out. ``governance.publication``
    records the number of tables in the snapshot, itself included.

    Args:
        con: Read-write warehouse connection.
        published_dir: ``<data dir>/published``.
        tables: ``(schema, table)`` to publish (:func:`published_tables`). A governance
            table not yet written is published empty; its columns in
            :data:`PUBLISHED_GOVERNANCE_TABLES` are left out.
        run_id: The run publishing; recorded in ``governance.publication`` in the snapshot.
        forbidden_columns: Column names that must never be published (direct identifiers).

    Returns:
        The new publication.

    Raises:
        PublishRefused: A model to publish is missing from the warehouse, a table to publish
            has a direct-identifier column, or the snapshot written does not hold what was
            copied. The previous snapshot is left in place.
    """
    tables = sorted(set(tables))
    existing = _existing(con, tables)
    missing = [f"{s}.{t}" for s, t in tables if (s, t) not in existing and s != GOVERNANCE_SCHEMA]
    if missing:
        raise PublishRefused("refusing to publish, not in the warehouse: " + ", ".join(missing))
    leaked = forbidden_columns_found(con, sorted(existing), forbidden_columns)
    if leaked:
        raise PublishRefused("refusing to publish direct identifiers: " + ", ".join(leaked[:10]))
    published_dir.mkdir(parents=True, exist_ok=True)
    final = published_dir / SNAPSHOT_NAME
    temporary = published_dir / f".{SNAPSHOT_NAME}.{run_id}.tmp"
    for leftover in (temporary, temporary.with_name(temporary.name + ".wal")):
        leftover.unlink(missing_ok=True)
    published_at = datetime.now(UTC).replace(tzinfo=None)
    counts: list[tuple[str, str, int]] = []
    con.execute(f"attach {quote_literal(str(temporary))} as {SNAPSHOT_ALIAS}")
    try:
        for schema in sorted({s for s, _ in tables} | {GOVERNANCE_SCHEMA}):
            con.execute(f"create schema if not exists {SNAPSHOT_ALIAS}.{quote_identifier(schema)}")
        for schema, table in tables:
            name = f"{quote_identifier(schema)}.{quote_identifier(table)}"
            if (schema, table) in existing:
                con.execute(f"create table {SNAPSHOT_ALIAS}.{name} as select * from {name}")
            else:
                con.execute(governance.table(table).ddl(catalog=SNAPSHOT_ALIAS))
            for column in _omitted(schema, table):
                con.execute(
                    f"alter table {SNAPSHOT_ALIAS}.{name} drop column if exists "
                    f"{quote_identifier(column)}"
                )
            rows = con.execute(f"select count(*) from {SNAPSHOT_ALIAS}.{name}").fetchone()[0]
            counts.append((schema, table, rows))
        con.execute(governance.table("publication").ddl(catalog=SNAPSHOT_ALIAS))
        con.execute(
            f"insert into {SNAPSHOT_ALIAS}.{GOVERNANCE_SCHEMA}.publication values (?, ?, ?)",
            [run_id, published_at, len(counts) + 1],
        )
        con.execute(f"checkpoint {SNAPSHOT_ALIAS}")
    finally:
        con.execute(f"detach {SNAPSHOT_ALIAS}")
    _audit(temporary, counts)
    os.replace(temporary, final)
    fsync_directory(published_dir)
    return Publication(final, run_id, published_at, tuple(counts))


def _audit(path: Path, counts: Sequence[tuple[str, str, int]]) -> None:
    """Re-opens the written snapshot read-only and checks every table's row count."""
    if path.with_name(path.name + ".wal").exists():
        raise PublishRefused(f"{path} was not fully checkpointed")
    with duckdb.connect(str(path), read_only=True) as snapshot:
        for schema, table, rows in counts:
            name = f"{quote_identifier(schema)}.{quote_identifier(table)}"
            got = snapshot.execute(f"select count(*) from {name}").fetchone()[0]
            if got != rows:
                path.unlink(missing_ok=True)
                raise PublishRefused(f"snapshot {name} holds {got} rows, expected {rows}")


def read_publication(published_dir: Path) -> tuple[str, datetime] | None:
    """The run id and time of the current snapshot, or None when nothing is published."""
    path = published_dir / SNAPSHOT_NAME
    if not path.exists():
        return None
    with duckdb.connect(str(path), read_only=True) as snapshot:
        row = snapshot.execute(
            f"select run_id, published_at from {GOVERNANCE_SCHEMA}.publication"
        ).fetchone()
    return (row[0], row[1]) if row else None
