"""dbt assets: staging, intermediate, conformed and mart models, with dbt tests as checks."""

import hashlib
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from orchestration.lib.contracts import Contract, load_contracts
from orchestration.project import dbt_executable, dbt_project
from orchestration.settings import get_settings

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


PARSE_STAMP = "commonground_parse_inputs.sha256"
# Folders of the dbt project that dbt writes, not reads.
_DBT_OUTPUT_FOLDERS = {"target", "logs", "dbt_packages"}


def parse_inputs_digest() -> str:
    """SHA-256 of what ``dbt parse`` reads: the project's files (models, macros, seeds, tests,
    ``dbt_project.yml``, the profile), dbt's version and the environment the profile reads."""
    from dbt.version import __version__ as dbt_version

    from orchestration.project import DBT_PROJECT_DIR

    digest = hashlib.sha256(dbt_version.encode())
    for path in sorted(DBT_PROJECT_DIR.rglob("*")):
        relative = path.relative_to(DBT_PROJECT_DIR)
        if relative.parts[0] in _DBT_OUTPUT_FOLDERS or not path.is_file():
            continue
        digest.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
    for name, value in sorted(get_settings().dbt_env().items()):
        digest.update(f"{name}={value}\0".encode())
    return digest.hexdigest()


def ensure_manifest(force: bool = False) -> None:
    """Runs ``dbt parse`` unless the manifest is up to date with the project (or ``force``).

    The manifest is up to date when it exists and was parsed from the same inputs
    (:func:`parse_inputs_digest`, recorded beside it): a fresh clone, CI, a test's own target
    folder or any edit under ``dbt_project/`` parses again; a run with nothing changed skips
    dbt's start-up and parse (about 5 s).
    """
    project = dbt_project()
    stamp = Path(project.target_path) / PARSE_STAMP
    digest = parse_inputs_digest()
    if (
        not force
        and project.manifest_path.exists()
        and stamp.exists()
        and stamp.read_text(encoding="utf-8").strip() == digest
    ):
        return
    dbt = DbtCliResource(project_dir=project, dbt_executable=dbt_executable())
    # Parse with the environment the builds use, so they can reuse dbt's partial parse
    # instead of parsing the whole project again in every step.
    os.environ.update(get_settings().dbt_env())
    dbt.cli(["parse", "--quiet"], target_path=project.target_path).wait()
    stamp.write_text(digest + "\n", encoding="utf-8")


KEEP_INVOCATIONS = 20


def invocation_target(name: str, run_id: str) -> Path:
    """A fresh dbt target folder for one build step, under the configured target folder.

    Older step folders beyond the newest ``KEEP_INVOCATIONS`` are removed, so the target
    folder does not grow with every run.
    """
    root = get_settings().dbt_target_dir
    root.mkdir(parents=True, exist_ok=True)
    previous = sorted(
        (p for p in root.iterdir() if p.is_dir() and p.name.startswith("dbt_")),
        key=lambda p: p.stat().st_mtime,
    )
    for old in previous[: max(0, len(previous) - KEEP_INVOCATIONS + 1)]:
        shutil.rmtree(old, ignore_errors=True)
    return root / f"{name}-{run_id[:8]}-{time.time_ns() % 10**9:09d}"


def _build(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Runs ``dbt build`` for the step's selection, in its own target folder."""
    os.environ.update(get_settings().dbt_env())
    target = invocation_target(context.op.name, context.run.run_id)
    yield from dbt.cli(["build"], context=context, target_path=target).stream()


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
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=translator,
        name="dbt_models",
        exclude=LINKED_MODELS,
    )
    def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        """Builds the selected dbt models, seeds and tests in the warehouse."""
        yield from _build(context, dbt)

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=translator,
        name="dbt_linked_models",
        select=LINKED_MODELS,
    )
    def dbt_linked_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        """Builds the dbt models that use the person index (linkage), with their tests."""
        yield from _build(context, dbt)

    return dg.Definitions(assets=[dbt_models, dbt_linked_models])
