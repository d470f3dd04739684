"""dbt assets: staging, intermediate, conformed and mart models, with dbt tests as checks."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from orchestration.contracts import Contract, load_contracts
from orchestration.defs.resources import WAREHOUSE_POOL, retry_transient
from orchestration.project import (
    dbt_environment,
    dbt_project,
    ensure_manifest,
    invocation_target,
)

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


class CommonGroundTranslator(DagsterDbtTranslator):
    """Maps dbt nodes to Common Ground asset keys, groups and owners.

    Sources are the ingest assets' raw tables (``raw/<department>__<dataset>``); models are
    keyed ``<layer>/<model>`` and grouped by layer; owners come from the model's ``meta.owner``
    or, for staging models, from the contract of the department they stage.
    """

    def __init__(self, contracts: list[Contract]):
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
        self._owners = {c.department: c.owner for c in contracts}

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

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str] | None:
        meta = (
            (dbt_resource_props.get("config") or {}).get("meta")
            or dbt_resource_props.get("meta")
            or {}
        )
        owner = meta.get("owner")
        if owner:
            return [owner if "@" in owner or owner.startswith("team:") else f"team:{owner}"]
        fqn = dbt_resource_props.get("fqn") or []
        if len(fqn) > 2 and fqn[1] == "staging" and fqn[2] in self._owners:
            return [self._owners[fqn[2]]]
        return ["team:data-platform"]

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        return {**super().get_tags(dbt_resource_props), "layer": layer_of(dbt_resource_props)}


def _build(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Runs ``dbt build`` for the step's selection, in its own target folder."""
    target = invocation_target(context.op.name, context.run.run_id)
    with dbt_environment():
        invocation = dbt.cli(["build"], context=context, target_path=target)
    yield from invocation.stream()


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
