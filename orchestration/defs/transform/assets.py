"""dbt assets: staging, intermediate, conformed and mart models, with dbt tests as checks."""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from orchestration import incremental, lineage
from orchestration.contracts import Contract, load_contracts
from orchestration.defs.resources import WAREHOUSE_POOL, retry_transient
from orchestration.project import (
    dbt_environment,
    dbt_project,
    ensure_manifest,
    invocation_target,
    read_manifest,
)
from orchestration.settings import get_settings
from orchestration.standards import GDQF_DIMENSIONS

LAYERS = ("staging", "intermediate", "conformed", "marts", "reference")

LINKED_MODELS = "source:linkage+"
"""dbt selection of the models downstream of the linkage assets' output (schema ``linkage``)."""


def layer_of(props: Mapping[str, Any]) -> str:
    """The warehouse layer a dbt node belongs to, from its schema."""
    if props["resource_type"] == "seed":
        return "reference"
    schema = (props.get("config") or {}).get("schema") or props.get("schema") or ""
    if schema.startswith("marts"):
        return "marts"
    return schema if schema in LAYERS else "staging"


DIMENSION_BY_TEST = {
    "not_null": "completeness",
    "not_null_proportion": "completeness",
    "at_least_one": "completeness",
    "unique": "uniqueness",
    "unique_combination_of_columns": "uniqueness",
    "accepted_values": "validity",
    "relationships": "validity",
    "accepted_range": "validity",
    "expression_is_true": "validity",
    "equal_rowcount": "consistency",
    "equality": "consistency",
    "recency": "timeliness",
}
"""The GDQF dimension a dbt generic test measures, by test name; a test's ``meta.dimension``
overrides it (and is required for a test not named here)."""


class MissingDimension(ValueError):
    """A dbt test has no GDQF dimension; the message says how to give it one."""


def _meta(props: Mapping[str, Any]) -> Mapping[str, Any]:
    return {**(props.get("meta") or {}), **((props.get("config") or {}).get("meta") or {})}


def dimension_of_test(test: Mapping[str, Any]) -> str:
    """The GDQF dimension of a dbt test: its ``meta.dimension``, else its test type's.

    Raises:
        MissingDimension: Neither gives one of :data:`~orchestration.standards.GDQF_DIMENSIONS`.
    """
    kind = (test.get("test_metadata") or {}).get("name") or "singular"
    dimension = _meta(test).get("dimension") or DIMENSION_BY_TEST.get(kind)
    if dimension not in GDQF_DIMENSIONS:
        raise MissingDimension(
            f"dbt test {test['name']} ({kind}) has "
            + (f"dimension {dimension!r}, not" if dimension else "no dimension: give it")
            + f" one of {', '.join(GDQF_DIMENSIONS)} in its config, e.g. "
            "config: {meta: {dimension: validity}}"
        )
    return dimension


def _relation(manifest: Mapping[str, Any], unique_id: str) -> str:
    node = manifest["nodes"].get(unique_id) or manifest["sources"].get(unique_id) or {}
    return f"{node.get('schema')}.{node.get('alias') or node.get('identifier') or node.get('name')}"


def describe_test(test: Mapping[str, Any], manifest: Mapping[str, Any]) -> str:
    """What a dbt test asserts, in words: its own description, else one made from its type."""
    if test.get("description"):
        return " ".join(test["description"].split())
    metadata = test.get("test_metadata") or {}
    kwargs = metadata.get("kwargs") or {}
    column = kwargs.get("column_name") or test.get("column_name")
    kind = metadata.get("name")
    if kind == "not_null":
        return f"{column} is never null."
    if kind == "unique":
        return f"No two rows have the same {column}."
    if kind == "accepted_values":
        return f"{column} is one of {', '.join(map(str, kwargs.get('values') or []))} (or null)."
    if kind == "relationships":
        parents = [
            n for n in test.get("depends_on", {}).get("nodes", []) if n != test.get("attached_node")
        ]
        target = _relation(manifest, parents[0]) if parents else kwargs.get("to")
        return f"Every {column} is a {kwargs.get('field')} of {target} (or null)."
    return f"dbt test {kind or test['name']}" + (f" on {column}." if column else ".")


class CommonGroundTranslator(DagsterDbtTranslator):
    """Maps dbt nodes to Common Ground asset keys, groups, owners and checks.

    Sources are the ingest assets' raw tables (``raw/<department>__<dataset>``); models are
    keyed ``<layer>/<model>`` and grouped by layer. A department has one owner, its contracts'
    (``contract.owner``): staging models take their department's, and so does a model whose
    ``meta.department`` names one; other models take ``meta.owner`` (a team), else the data
    platform team. dbt tests are asset checks described in words, with the GDQF dimension
    they measure (``gdqf_dimension``: by test type, or the test's ``meta.dimension``).
    """

    def __init__(self, contracts: list[Contract]):
        super().__init__(
            settings=DagsterDbtTranslatorSettings(
                enable_asset_checks=True, enable_code_references=True
            )
        )
        self._owners = department_owners(contracts)

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            # A source produced by a Python asset (the linkage) names that asset in its meta.
            if ((dbt_resource_props.get("meta") or {}).get("dagster") or {}).get("asset_key"):
                return super().get_asset_key(dbt_resource_props)
            identifier = dbt_resource_props.get("identifier") or dbt_resource_props["name"]
            return dg.AssetKey(["raw", identifier])
        return dg.AssetKey([layer_of(dbt_resource_props), dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return layer_of(dbt_resource_props)

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        # The description only, not dagster-dbt's raw SQL after it: that holds unrendered
        # Jinja (var(...)). The code reference in the metadata links to the model's file.
        return dbt_resource_props.get("description") or (
            f"dbt {dbt_resource_props['resource_type']} {dbt_resource_props['name']}"
        )

    def get_metadata(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, Any]:
        metadata = dict(super().get_metadata(dbt_resource_props))
        # A seed's column types are in its config (column_types), not on its columns.
        types = (dbt_resource_props.get("config") or {}).get("column_types") or {}
        schema = metadata.get("dagster/column_schema")
        if types and isinstance(schema, dg.TableSchema):
            metadata["dagster/column_schema"] = dg.TableSchema(
                columns=[
                    dg.TableColumn(
                        name=c.name,
                        type=types.get(c.name, c.type) if c.type == "?" else c.type,
                        description=c.description,
                        constraints=c.constraints,
                        tags=c.tags,
                    )
                    for c in schema.columns
                ],
                constraints=schema.constraints,
            )
        return metadata

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str] | None:
        meta = _meta(dbt_resource_props)
        department = meta.get("department")
        fqn = dbt_resource_props.get("fqn") or []
        if not department and len(fqn) > 2 and fqn[1] == "staging":
            department = fqn[2]
        if department in self._owners:
            return [self._owners[department]]
        owner = meta.get("owner")
        if owner:
            return [owner if "@" in owner or owner.startswith("team:") else f"team:{owner}"]
        return ["team:data-platform"]

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        return {**super().get_tags(dbt_resource_props), "layer": layer_of(dbt_resource_props)}

    def get_asset_check_spec(
        self,
        asset_spec: dg.AssetSpec,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: DbtProject | None,
    ) -> dg.AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None:
            return None
        test = self.get_resource_props(manifest, unique_id)
        dimension = dimension_of_test(test)
        severity = "ERROR" if spec.blocking else "WARN"
        return dg.AssetCheckSpec(
            name=spec.name,
            asset=spec.asset_key,
            description=f"[{dimension} · {severity}] {describe_test(test, manifest)}",
            additional_deps=spec.additional_deps,
            blocking=spec.blocking,
            metadata={**spec.metadata, "gdqf_dimension": dimension, "severity": severity},
            automation_condition=spec.automation_condition,
        )


def department_owners(contracts: list[Contract]) -> dict[str, str]:
    """The owner of each department: the one owner its contracts name.

    Raises:
        ValueError: Two contracts of one department name different owners.
    """
    owners: dict[str, str] = {}
    for contract in sorted(contracts, key=lambda c: str(c.path)):
        known = owners.setdefault(contract.department, contract.owner)
        if known != contract.owner:
            raise ValueError(
                f"department {contract.department} has two owners in its contracts ({known} and "
                f"{contract.owner}, in {contract.path}): give every contract of a department "
                "the same owner"
            )
    return owners


def _build(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Runs ``dbt build`` for the step's selection, in its own target folder.

    Incremental models process only what is new since their last build, except those whose
    SQL, macros, contract or upstream models changed since: dbt rebuilds those from scratch
    (see :mod:`orchestration.incremental`). The fingerprints of the models built are
    recorded when dbt finishes.
    """
    settings = get_settings()
    target = invocation_target(context.op.name, context.run.run_id)
    manifest = read_manifest()
    refresh = incremental.models_to_refresh(manifest, settings.pseudonym_key, settings.data_dir)
    selected = {
        manifest["nodes"][u]["name"]
        for u in incremental.incremental_models(manifest)
        if dg.AssetKey([layer_of(manifest["nodes"][u]), manifest["nodes"][u]["name"]])
        in context.selected_asset_keys
    }
    if refresh := sorted(set(refresh) & selected):
        context.log.info(f"rebuilt from scratch (changed since last built): {', '.join(refresh)}")
    with dbt_environment(incremental.full_refresh_environment(refresh)):
        invocation = dbt.cli(["build"], context=context, target_path=target)
    try:
        yield from lineage.with_column_lineage(invocation)
    finally:
        results = Path(invocation.target_path) / "run_results.json"
        if results.exists():
            incremental.record_builds(
                manifest,
                settings.pseudonym_key,
                settings.data_dir,
                json.loads(results.read_text(encoding="utf-8")),
            )


@dg.definitions
def defs() -> dg.Definitions:
    """The dbt project as assets, downstream of the ingest assets."""
    project = dbt_project()
    # Under `dagster dev` re-parse on every load so model edits show up; elsewhere parse
    # only when something dbt parses has changed.
    ensure_manifest(force=project.preparer.using_dagster_dev())
    translator = CommonGroundTranslator(load_contracts())

    # Two selections, so the Python linkage asset sits between them without a cycle: the
    # models up to the person records it reads, and those downstream of its output.
    @dbt_assets(
        pool=WAREHOUSE_POOL,
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=translator,
        name="dbt_models",
        exclude=LINKED_MODELS,
    )
    @retry_transient
    def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        """Builds the selected dbt models, seeds and tests in the warehouse."""
        yield from _build(context, dbt)

    @dbt_assets(
        pool=WAREHOUSE_POOL,
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=translator,
        name="dbt_linked_models",
        select=LINKED_MODELS,
    )
    @retry_transient
    def dbt_linked_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        """Builds the dbt models that use the person index (linkage), with their tests."""
        yield from _build(context, dbt)

    return dg.Definitions(assets=[dbt_models, dbt_linked_models])
