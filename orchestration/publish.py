"""Write-audit-publish: the read-only analytics snapshot analysts query.

The pipeline writes the warehouse; analysts read ``<data dir>/published/analytics.duckdb``.
A new snapshot is written to a temporary file beside it (the publishable conformed tables and
marts, the reference code lists that decode their coded columns, and the governance tables
meant for analysts), every table and column commented with its description, checked, and
moved into place with one atomic rename. An analyst who has the previous snapshot open keeps
reading it undisturbed (the old file lives on until they close it), never waits for the
pipeline, and never sees a half-written snapshot.
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
from orchestration.quality.results import warehouse_datasets
from orchestration.sql import quote_identifier, quote_literal
from orchestration.state import fsync_directory

SNAPSHOT_NAME = "analytics.duckdb"
PUBLISHED_LAYERS = ("conformed", "marts", "reference")
"""The layers published: conformed tables, marts and the reference code lists (dbt seeds)."""
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
class PublishedColumn:
    """A column of a published table: its name, type and description."""

    name: str
    type: str
    description: str


@dataclass(frozen=True)
class PublishedModel:
    """A dbt model or seed that is published: its asset layer, name, schema, description and
    documented columns."""

    layer: str
    name: str
    schema: str
    description: str
    columns: tuple[PublishedColumn, ...] = ()

    @property
    def dataset(self) -> str:
        """``<schema>.<table>``: the table in the warehouse, the name quality results use."""
        return f"{self.schema}.{self.name}"


def _columns(node: dict) -> tuple[PublishedColumn, ...]:
    # A seed's column types are in its config (column_types), not on its columns.
    types = (node.get("config") or {}).get("column_types") or {}
    return tuple(
        PublishedColumn(
            name,
            column.get("data_type") or types.get(name) or "",
            " ".join((column.get("description") or "").split()),
        )
        for name, column in (node.get("columns") or {}).items()
    )


def published_models(manifest_path: Path) -> list[PublishedModel]:
    """The conformed and mart models and the reference code lists (seeds) of the dbt
    manifest, which the snapshot publishes.

    Staging and intermediate are never published: staging holds direct identifiers and
    intermediate is internal matching data. A model or seed whose ``meta.publish`` is false
    (e.g. an unsuppressed internal mart kept for reconciliation) is not published either.
    """
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    models = []
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") not in {"model", "seed"}:
            continue
        schema = node.get("schema") or ""
        layer = "reference" if node["resource_type"] == "seed" else schema
        layer = "marts" if layer.startswith("marts") else layer
        meta = {**(node.get("meta") or {}), **((node.get("config") or {}).get("meta") or {})}
        if layer in PUBLISHED_LAYERS and meta.get("publish", True) is not False:
            models.append(
                PublishedModel(
                    layer,
                    node["name"],
                    schema,
                    " ".join((node.get("description") or "").split()),
                    _columns(node),
                )
            )
    return sorted(models, key=lambda m: (m.layer, m.name))


def published_columns(models: Iterable[PublishedModel]) -> list[tuple[str, str, PublishedColumn]]:
    """``(schema, table, column)`` of every column a snapshot publishes, as documented: the
    published models' and code lists' columns, then the governance tables' (less the columns
    :data:`PUBLISHED_GOVERNANCE_TABLES` leaves out) and ``governance.publication``'s."""
    out = [
        (m.schema, m.name, c)
        for m in sorted(models, key=lambda m: (m.schema, m.name))
        for c in m.columns
    ]
    for name in [*sorted(PUBLISHED_GOVERNANCE_TABLES), "publication"]:
        out += [
            (
                GOVERNANCE_SCHEMA,
                name,
                PublishedColumn(c.name, governance.base_type(c.type), c.description),
            )
            for c in governance.table(name).columns
            if c.name not in _omitted(GOVERNANCE_SCHEMA, name)
        ]
    return out


def published_tables(models: Iterable[PublishedModel]) -> list[tuple[str, str]]:
    """``(schema, table)`` of everything a snapshot copies: the published models and
    :data:`PUBLISHED_GOVERNANCE_TABLES` (``governance.publication`` is written, not copied)."""
    tables = {(m.schema, m.name) for m in models}
    tables |= {(GOVERNANCE_SCHEMA, name) for name in PUBLISHED_GOVERNANCE_TABLES}
    return sorted(tables)


def blocking_failures(con: duckdb.DuckDBPyConnection, checks: Iterable[tuple[str, str]]) -> list:
    """Current ERROR checks whose latest result failed: ``(dataset, check_name, error)``.

    ``checks`` are ``(dataset, check_name)``, datasets named as checks name them (by layer;
    see :func:`~orchestration.quality.results.warehouse_datasets`)."""
    keys = [list(c) for c in checks]
    if not keys:
        return []
    exists = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'governance' and table_name = 'quality_results'"
    ).fetchone()[0]
    if not exists:
        return []
    names = warehouse_datasets(con, {d for d, _ in keys})
    con.execute(
        "create or replace temp table _publish_checks (dataset varchar, check_name varchar)"
    )
    con.executemany("insert into _publish_checks values (?, ?)", [[names[d], c] for d, c in keys])
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
    """A published snapshot: where it is, which run wrote it, and what it holds.

    Attributes:
        undocumented: ``schema.table`` or ``schema.table.column`` of what the snapshot holds
            without a description (comment); empty when everything is documented.
    """

    path: Path
    run_id: str
    published_at: datetime
    tables: tuple[tuple[str, str, int], ...]
    undocumented: tuple[str, ...] = ()


def _copy_comments(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> None:
    """Comments ``schema.table`` in the snapshot as it is commented in the warehouse (dbt's
    persisted docs); a governance table with its definition's descriptions."""
    if schema == GOVERNANCE_SCHEMA:
        governance.describe(con, table, catalog=SNAPSHOT_ALIAS)
        return
    where = "database_name = current_database() and schema_name = ? and table_name = ?"
    found = con.execute(f"select comment from duckdb_tables() where {where}", [schema, table])
    row = found.fetchone()
    columns = con.execute(
        f"select column_name, comment from duckdb_columns() where {where} and comment is not null",
        [schema, table],
    ).fetchall()
    governance.comment_on(
        con, schema, table, (row[0] if row else None) or "", dict(columns), SNAPSHOT_ALIAS
    )


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
            _copy_comments(con, schema, table)
            rows = con.execute(f"select count(*) from {SNAPSHOT_ALIAS}.{name}").fetchone()[0]
            counts.append((schema, table, rows))
        con.execute(governance.table("publication").ddl(catalog=SNAPSHOT_ALIAS))
        governance.describe(con, "publication", catalog=SNAPSHOT_ALIAS)
        con.execute(
            f"insert into {SNAPSHOT_ALIAS}.{GOVERNANCE_SCHEMA}.publication values (?, ?, ?)",
            [run_id, published_at, len(counts) + 1],
        )
        con.execute(f"checkpoint {SNAPSHOT_ALIAS}")
    finally:
        con.execute(f"detach {SNAPSHOT_ALIAS}")
    missing_docs = _audit(temporary, counts)
    os.replace(temporary, final)
    fsync_directory(published_dir)
    return Publication(final, run_id, published_at, tuple(counts), missing_docs)


def undocumented(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """``schema.table`` and ``schema.table.column`` of the current database's tables and
    columns that have no comment (description)."""
    rows = con.execute(
        """
        select schema_name || '.' || table_name
        from duckdb_tables()
        where database_name = current_database() and coalesce(trim(comment), '') = ''
        union all
        select schema_name || '.' || table_name || '.' || column_name
        from duckdb_columns()
        where database_name = current_database() and coalesce(trim(comment), '') = ''
        order by 1
        """
    ).fetchall()
    return tuple(r[0] for r in rows)


def _audit(path: Path, counts: Sequence[tuple[str, str, int]]) -> tuple[str, ...]:
    """Re-opens the written snapshot read-only, checks every table's row count and returns
    what it holds without a description (:func:`undocumented`)."""
    if path.with_name(path.name + ".wal").exists():
        raise PublishRefused(f"{path} was not fully checkpointed")
    with duckdb.connect(str(path), read_only=True) as snapshot:
        for schema, table, rows in counts:
            name = f"{quote_identifier(schema)}.{quote_identifier(table)}"
            got = snapshot.execute(f"select count(*) from {name}").fetchone()[0]
            if got != rows:
                path.unlink(missing_ok=True)
                raise PublishRefused(f"snapshot {name} holds {got} rows, expected {rows}")
        return undocumented(snapshot)


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
