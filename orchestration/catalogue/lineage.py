"""The published tables and where their data comes from: dbt's manifest walked upstream to
the sources, and each source matched to the contract it is delivered under.

A published model's *sources* are every contract upstream of it (through staging,
intermediate and other models); its *primary* sources are the contracts of the staging
models it reads directly (the department whose records it conforms), when there are any.
Governance tables are written by the platform itself, not by dbt, and have no sources.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from orchestration import governance
from orchestration.catalogue.errors import CatalogueError
from orchestration.contracts import Contract
from orchestration.publish import (
    GOVERNANCE_SCHEMA,
    PUBLISHED_GOVERNANCE_TABLES,
    published_models,
    published_tables,
)

MODEL = "model"
SEED = "seed"
GOVERNANCE = "governance"
PUBLICATION_TABLE = "publication"
"""``governance.publication``: written into every snapshot, not copied from the warehouse."""


@dataclass(frozen=True)
class ColumnInfo:
    """A column of a published table: name, type and description."""

    name: str
    type: str
    description: str


@dataclass(frozen=True)
class PublishedTable:
    """One table of the published snapshot, with what the catalogue needs to describe it.

    Attributes:
        schema: Schema in the snapshot.
        name: Table name.
        kind: ``model`` or ``seed`` (dbt) or ``governance`` (a governance table).
        description: What the table holds (dbt's description or the governance table's).
        columns: Its columns as documented.
        meta: dbt ``meta`` (empty for governance tables).
        quality_dataset: Name of the table in the quality results (``<layer>.<name>``).
        sources: Ids of every contract upstream.
        primary_sources: Ids of the contracts of the staging models it reads directly.
    """

    schema: str
    name: str
    kind: str
    description: str
    columns: tuple[ColumnInfo, ...]
    meta: Mapping[str, Any] = field(default_factory=dict)
    quality_dataset: str = ""
    sources: tuple[str, ...] = ()
    primary_sources: tuple[str, ...] = ()

    @property
    def dataset(self) -> str:
        """``schema.table``."""
        return f"{self.schema}.{self.name}"


def read_manifest(manifest_path: Path) -> dict[str, Any]:
    """dbt's ``manifest.json`` as a dictionary."""
    return json.loads(Path(manifest_path).read_text(encoding="utf-8"))


def _meta(node: Mapping[str, Any]) -> dict[str, Any]:
    return {**(node.get("meta") or {}), **((node.get("config") or {}).get("meta") or {})}


class ManifestLineage:
    """Models, seeds and sources of a dbt manifest, and the contracts upstream of each."""

    def __init__(self, manifest: Mapping[str, Any], contracts: Iterable[Contract]):
        self.nodes: dict[str, Mapping[str, Any]] = dict(manifest.get("nodes") or {})
        self.sources: dict[str, Mapping[str, Any]] = dict(manifest.get("sources") or {})
        self.contracts = {c.id: c for c in contracts}
        by_source = {(c.department, c.dataset): c.id for c in self.contracts.values()}
        by_table = {c.raw_table: c.id for c in self.contracts.values()}
        self._source_contract: dict[str, str] = {}
        for unique_id, source in self.sources.items():
            found = by_source.get((source.get("source_name"), source.get("name")))
            if found is None and source.get("schema") == "raw":
                found = by_table.get(source.get("identifier") or source.get("name"))
            if found is not None:
                self._source_contract[unique_id] = found
        self._upstream: dict[str, frozenset[str]] = {}

    def node_id(self, schema: str, name: str) -> str | None:
        """The unique id of the model or seed materialized as ``schema.name``, if any."""
        for unique_id, node in self.nodes.items():
            if node.get("resource_type") not in (MODEL, SEED) or node.get("schema") != schema:
                continue
            if name in (node.get("name"), node.get("alias")):
                return unique_id
        return None

    def upstream_contracts(self, unique_id: str) -> frozenset[str]:
        """Ids of every contract upstream of a node (through any number of models)."""
        if unique_id in self._upstream:
            return self._upstream[unique_id]
        self._upstream[unique_id] = frozenset()
        if unique_id in self._source_contract:
            found = frozenset({self._source_contract[unique_id]})
        else:
            parents = (self.nodes.get(unique_id) or {}).get("depends_on", {}).get("nodes") or []
            found = frozenset().union(*(self.upstream_contracts(p) for p in parents))
        self._upstream[unique_id] = found
        return found

    def primary_contracts(self, unique_id: str) -> frozenset[str]:
        """Ids of the contracts of the staging models (and sources) a node reads directly."""
        found: set[str] = set()
        for parent in (self.nodes.get(unique_id) or {}).get("depends_on", {}).get("nodes") or []:
            if parent in self._source_contract:
                found.add(self._source_contract[parent])
            elif (self.nodes.get(parent) or {}).get("schema") == "staging":
                found |= self.upstream_contracts(parent)
        return frozenset(found)

    def departments_of(self, dataset: str) -> frozenset[str]:
        """Departments whose contracts feed ``schema.table`` (empty when it is not dbt's)."""
        schema, _, name = dataset.partition(".")
        unique_id = self.node_id(schema, name)
        if unique_id is None:
            return frozenset()
        return frozenset(self.contracts[c].department for c in self.upstream_contracts(unique_id))

    def table(self, schema: str, name: str, quality_dataset: str) -> PublishedTable | None:
        """The published model or seed ``schema.name`` as a :class:`PublishedTable`."""
        unique_id = self.node_id(schema, name)
        if unique_id is None:
            return None
        node = self.nodes[unique_id]
        # A seed's column types are in its config (column_types), not on its columns.
        types = (node.get("config") or {}).get("column_types") or {}
        columns = tuple(
            ColumnInfo(
                c.get("name") or key,
                c.get("data_type") or types.get(key) or "",
                " ".join((c.get("description") or "").split()),
            )
            for key, c in (node.get("columns") or {}).items()
        )
        return PublishedTable(
            schema=schema,
            name=name,
            kind=node["resource_type"],
            description=" ".join((node.get("description") or "").split()),
            columns=columns,
            meta=_meta(node),
            quality_dataset=quality_dataset,
            sources=tuple(sorted(self.upstream_contracts(unique_id))),
            primary_sources=tuple(sorted(self.primary_contracts(unique_id))),
        )


def governance_table(name: str) -> PublishedTable:
    """A governance table as a :class:`PublishedTable` (from ``orchestration.governance``),
    without the columns its published copy leaves out."""
    definition = governance.table(name)
    omitted = PUBLISHED_GOVERNANCE_TABLES.get(name, ())
    columns = tuple(
        ColumnInfo(
            c.name,
            c.type.split(" not null")[0].split(" primary key")[0].split(" default")[0].strip(),
            c.description,
        )
        for c in definition.columns
        if c.name not in omitted
    )
    return PublishedTable(
        schema=GOVERNANCE_SCHEMA,
        name=name,
        kind=GOVERNANCE,
        description=definition.description,
        columns=columns,
    )


def published_catalogue_tables(
    manifest_path: Path, contracts: Sequence[Contract], in_snapshot: Collection[str] | None = None
) -> list[PublishedTable]:
    """Every table of the published snapshot, in ``schema.table`` order.

    The tables are those ``orchestration.publish`` puts in a snapshot (the published models
    and code lists, ``PUBLISHED_GOVERNANCE_TABLES``, and ``governance.publication``, which
    it writes), or, given ``in_snapshot``, exactly the tables the current snapshot holds.

    Args:
        manifest_path: dbt's manifest.
        contracts: Every contract.
        in_snapshot: ``schema.table`` of every table in the current snapshot, if known.

    Raises:
        CatalogueError: A table is neither a dbt model or seed nor a governance table.
    """
    models = published_models(manifest_path)
    quality_names = {(m.schema, m.name): m.dataset for m in models}
    lineage = ManifestLineage(read_manifest(manifest_path), contracts)
    names = {*published_tables(models), (GOVERNANCE_SCHEMA, PUBLICATION_TABLE)}
    if in_snapshot is not None:
        names = {tuple(d.split(".", 1)) for d in in_snapshot}
    tables = []
    for schema, name in sorted(names):
        found = None
        if schema == GOVERNANCE_SCHEMA and name in governance.TABLES:
            found = governance_table(name)
        elif schema != GOVERNANCE_SCHEMA:
            quality_name = quality_names.get((schema, name), f"{schema}.{name}")
            found = lineage.table(schema, name, quality_name)
        if found is None:
            raise CatalogueError(
                f"{schema}.{name}",
                "description",
                "the table is published but is neither a dbt model or seed nor a governance "
                "table, so nothing documents it",
            )
        tables.append(found)
    return tables


def snapshot_columns(snapshot_path: Path) -> dict[str, list[tuple[str, str]]]:
    """``schema.table`` -> ``[(column, type)]`` of every table in a published snapshot (empty
    when there is no snapshot), in column order."""
    if not Path(snapshot_path).exists():
        return {}
    with duckdb.connect(str(snapshot_path), read_only=True) as snapshot:
        rows = snapshot.execute(
            "select schema_name, table_name, column_name, data_type from duckdb_columns() "
            "where database_name = current_database() order by schema_name, table_name, "
            "column_index"
        ).fetchall()
    found: dict[str, list[tuple[str, str]]] = {}
    for schema, table, column, kind in rows:
        found.setdefault(f"{schema}.{table}", []).append((column, kind.lower()))
    return found
