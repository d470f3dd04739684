"""Column lineage of the dbt models, from their compiled SQL.

dbt's manifest gives every model, seed and source with its relation
(``"warehouse"."staging"."stg_x"``), its declared columns and its parents; the compiled SQL
(macros expanded: the pseudonymise macro appears as ``commonground_pseudonym(domain,
value)``) gives each model's columns and what they are made from
(:func:`~orchestration.lineage.queries.query_lineage`). Models are read parents first, so a
model's columns as its SQL makes them (not only as documented) are known to its children.

The compiled SQL comes from the manifests a run's ``dbt build`` steps wrote (each step in
its own target folder, :func:`orchestration.project.invocation_target`); a model none of
them built is compiled with ``dbt compile`` against a scratch DuckDB file, so the live
warehouse is never opened for it.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

from sqlglot.errors import SqlglotError
from sqlglot.schema import MappingSchema

from orchestration.lineage.queries import (
    DERIVED,
    QueryLineage,
    Relation,
    add_table,
    mapping_schema,
    parse_relation,
    query_lineage,
)
from orchestration.lineage.rows import LineageRow, table_column_lineage
from orchestration.project import DBT_PROJECT_DIR, dbt_executable
from orchestration.settings import get_settings

logger = logging.getLogger(__name__)

AssetKeyOf = Callable[[Mapping[str, Any]], Any]
"""Maps a manifest node or source to its Dagster asset key (an ``AssetKey``, a sequence of
parts or a ``/``-joined string), e.g. the dbt translator's ``get_asset_key``."""

_RESOURCE_TYPES = {"model", "seed", "source"}


def _key_string(key: Any) -> str:
    if isinstance(key, str):
        return key
    if hasattr(key, "to_user_string"):
        return key.to_user_string()
    return "/".join(key)


@dataclass(frozen=True)
class DbtRelation:
    """A model, seed or source as lineage sees it.

    Attributes:
        unique_id: The manifest's id (``model.commonground.persons``).
        resource_type: ``model``, ``seed`` or ``source``.
        asset: Its asset key, as a string.
        relation: ``(catalog, schema, table)`` in the warehouse.
        columns: Declared columns with their declared types (None when not declared).
        parents: Unique ids of the nodes and sources it reads.
        compiled_path: Where ``dbt`` writes its compiled SQL, relative to a target folder.
    """

    unique_id: str
    resource_type: str
    asset: str
    relation: Relation
    columns: dict[str, str | None] = field(default_factory=dict)
    parents: tuple[str, ...] = ()
    compiled_path: str = ""

    @property
    def dataset(self) -> str:
        """``schema.table``."""
        return f"{self.relation[1]}.{self.relation[2]}"


def read_manifest(path: Path) -> dict[str, Any]:
    """A dbt manifest."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def dbt_relations(manifest: Mapping[str, Any], asset_key_of: AssetKeyOf) -> dict[str, DbtRelation]:
    """Every model, seed and source of a manifest that has a relation, by unique id."""
    dialect = manifest["metadata"]["adapter_type"]
    found = {}
    for props in [*manifest["nodes"].values(), *manifest["sources"].values()]:
        if props["resource_type"] not in _RESOURCE_TYPES or not props.get("relation_name"):
            continue
        found[props["unique_id"]] = DbtRelation(
            unique_id=props["unique_id"],
            resource_type=props["resource_type"],
            asset=_key_string(asset_key_of(props)),
            relation=parse_relation(props["relation_name"], dialect),
            columns={
                name.lower(): c.get("data_type") for name, c in (props.get("columns") or {}).items()
            },
            parents=tuple((props.get("depends_on") or {}).get("nodes") or ()),
            compiled_path=f"compiled/{props['package_name']}/{props['original_file_path']}",
        )
    return found


@dataclass
class DbtLineage:
    """The lineage of a project's models.

    Attributes:
        relations: The project's models, seeds and sources (:func:`dbt_relations`).
        rows: One row per model column and input (one row without upstream for a constant).
        models: Models whose lineage was read.
        missing: Asset keys of models without compiled SQL.
        unresolved: Per asset key, the columns with an input that could not be placed.
        failed: Per asset key, why its SQL could not be read.
    """

    relations: dict[str, DbtRelation] = field(default_factory=dict)
    rows: list[LineageRow] = field(default_factory=list)
    models: int = 0
    missing: list[str] = field(default_factory=list)
    unresolved: dict[str, list[str]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


class _Project:
    """The relations of a manifest and a schema of their columns, grown model by model."""

    def __init__(self, manifest: Mapping[str, Any], asset_key_of: AssetKeyOf):
        self.dialect = manifest["metadata"]["adapter_type"]
        self.relations = dbt_relations(manifest, asset_key_of)
        self.by_relation = {r.relation: r for r in self.relations.values()}
        self.by_table = {r.relation[1:]: r for r in self.relations.values()}
        self.schema: MappingSchema = mapping_schema(
            {r.relation: r.columns for r in self.relations.values()}, self.dialect
        )

    def models(self) -> list[DbtRelation]:
        """The models, parents first."""
        graph = {
            uid: [p for p in r.parents if p in self.relations]
            for uid, r in self.relations.items()
            if r.resource_type == "model"
        }
        order = TopologicalSorter(graph).static_order()
        return [self.relations[u] for u in order if self.relations[u].resource_type == "model"]

    def lineage(self, model: DbtRelation, sql: str) -> tuple[list[LineageRow], QueryLineage]:
        """The rows of one model from its compiled SQL; its columns join the schema."""
        result = query_lineage(sql, self.schema, self.dialect)
        add_table(
            self.schema,
            model.relation,
            {c: model.columns.get(c) for c in result.columns},
            self.dialect,
        )
        rows = []
        for column, inputs in result.columns.items():
            if not inputs:
                rows.append(
                    LineageRow(model.asset, model.dataset, column, None, None, None, DERIVED)
                )
            for found in inputs:
                upstream = self.by_relation.get(found.relation) or self.by_table.get(
                    found.relation[1:]
                )
                rows.append(
                    LineageRow(
                        model.asset,
                        model.dataset,
                        column,
                        upstream.asset if upstream else None,
                        upstream.dataset if upstream else ".".join(p for p in found.relation if p),
                        found.column,
                        found.kind,
                    )
                )
        return rows, result


def dbt_lineage(
    manifest: Mapping[str, Any], compiled: Mapping[str, str], asset_key_of: AssetKeyOf
) -> DbtLineage:
    """The column lineage of every model with compiled SQL.

    Args:
        manifest: A dbt manifest (a parse's is enough: the SQL comes from ``compiled``).
        compiled: Compiled SQL by unique id (:func:`compiled_sql`).
        asset_key_of: Maps a node or source to its asset key.
    """
    project = _Project(manifest, asset_key_of)
    result = DbtLineage(relations=project.relations)
    for model in project.models():
        sql = compiled.get(model.unique_id)
        if sql is None:
            result.missing.append(model.asset)
            continue
        try:
            rows, query = project.lineage(model, sql)
        except SqlglotError as error:
            result.failed[model.asset] = str(error)
            continue
        result.rows += rows
        result.models += 1
        if query.unresolved:
            result.unresolved[model.asset] = query.unresolved
    return result


def step_manifests(target_dir: Path, run_id: str) -> list[Path]:
    """The manifests that one run's dbt steps wrote, newest first (a retried step's last)."""
    found = [
        folder / "manifest.json"
        for folder in Path(target_dir).glob(f"*-{run_id[:8]}-*")
        if (folder / "manifest.json").is_file()
    ]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def compiled_code(manifests: Iterable[Path]) -> dict[str, str]:
    """Compiled SQL of each model by unique id, from manifests of ``dbt build`` or ``dbt
    compile`` (the first manifest holding a model's wins)."""
    found: dict[str, str] = {}
    for path in manifests:
        for uid, props in read_manifest(path)["nodes"].items():
            if props["resource_type"] == "model" and props.get("compiled_code"):
                found.setdefault(uid, props["compiled_code"])
    return found


def compile_models(names: Iterable[str]) -> dict[str, str]:
    """Compiles models with ``dbt compile`` and returns their SQL by unique id.

    dbt runs in a temporary target folder against a scratch DuckDB file named like the
    warehouse (so relation names are the warehouse's): compiling needs no data, and the
    live warehouse, which the run may hold, is never opened. The pseudonymisation key
    reaches dbt's environment only, as for a build.

    Raises:
        RuntimeError: dbt failed; the message holds the end of its output.
    """
    names = sorted(set(names))
    if not names:
        return {}
    settings = get_settings()
    with tempfile.TemporaryDirectory(prefix="commonground-lineage-") as scratch:
        target = Path(scratch) / "target"
        env = {
            **os.environ,
            **settings.dbt_env(),
            "COMMONGROUND_WAREHOUSE": str(Path(scratch) / settings.warehouse_path.name),
            "DBT_TARGET_PATH": str(target),
        }
        command = [
            dbt_executable(),
            "compile",
            "--quiet",
            "--select",
            *names,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(target),
            "--log-path",
            str(Path(scratch) / "logs"),
        ]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = (done.stdout + done.stderr).strip().splitlines()[-10:]
            raise RuntimeError(f"dbt compile failed ({done.returncode}): " + "\n".join(tail))
        return compiled_code([target / "manifest.json"])


def compiled_sql(manifest: Mapping[str, Any], target_dir: Path, run_id: str) -> tuple[dict, int]:
    """Compiled SQL of every model of ``manifest``: from the manifests this run's dbt build
    steps wrote, and ``dbt compile`` (once) for the models none of them built.

    Returns:
        ``(sql by unique id, models compiled here)``.
    """
    found = compiled_code(step_manifests(target_dir, run_id))
    missing = [
        props["name"]
        for uid, props in manifest["nodes"].items()
        if props["resource_type"] == "model" and props.get("relation_name") and uid not in found
    ]
    if missing:
        logger.info("compiling %d models this run did not build", len(missing))
        found.update(compile_models(missing))
    return found, len(missing)


def with_column_lineage(invocation: Any) -> Iterator[Any]:
    """A dbt invocation's events (``invocation.stream()``), each model's materialization
    carrying ``dagster/column_lineage`` from the SQL the step compiled.

    The parents' columns are those the manifest declares, or the SQL made earlier in the
    step. A model whose lineage cannot be read is materialized without it (a warning says
    why): lineage never fails a build.

    Args:
        invocation: A ``dagster_dbt.DbtCliInvocation`` (its manifest, translator and target
            folder are used).
    """
    import dagster as dg  # deferred: dagster is slow to import; only this hook needs it

    translator = invocation.dagster_dbt_translator
    project = _Project(invocation.manifest, translator.get_asset_key)
    target = Path(invocation.target_path)
    for event in invocation.stream():
        materialized = isinstance(event, dg.Output | dg.AssetMaterialization)
        uid = event.metadata.get("unique_id") if materialized else None
        model = project.relations.get(getattr(uid, "value", uid))
        if model is not None and model.resource_type == "model":
            try:
                rows, _ = project.lineage(model, (target / model.compiled_path).read_text())
            except Exception as error:  # lineage is metadata: it never fails the build
                logger.warning("no column lineage for %s: %r", model.asset, error)
            else:
                lineage = next(iter(table_column_lineage(rows).values()), None)
                if lineage is not None:
                    event = event.with_metadata(
                        {**event.metadata, "dagster/column_lineage": lineage}
                    )
        yield event
