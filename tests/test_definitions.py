"""The Dagster code location: asset keys, groups, owners, checks, job and schedule."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg
import pytest

from orchestration.definitions import defs as load_defs

# Loading definitions may parse the dbt project; share a worker with the other dbt users.
pytestmark = pytest.mark.xdist_group("dbt_project")


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return load_defs()


@pytest.fixture(scope="module")
def specs(defs):
    graph = defs.resolve_asset_graph()
    return {key.to_user_string(): graph.get(key) for key in graph.get_all_asset_keys()}


RAW = [
    "raw/council__council_tax",
    "raw/dfe__school_census",
    "raw/dluhc__energy_certificates",
    "raw/dwp__benefit_awards",
    "raw/hmrc__paye_income",
    "raw/nhs__data_opt_outs",
    "raw/nhs__gp_registrations",
]


def test_every_contract_has_an_ingest_asset_grouped_by_department(specs):
    for key in RAW:
        node = specs[key]
        assert node.is_materializable, key
        department = key.split("/")[1].split("__")[0]
        assert node.group_name == department
        assert node.owners and "@" in node.owners[0]
        assert "dagster/column_schema" in node.metadata


def test_layers_flow_from_raw_to_marts(specs):
    assert specs["staging/stg_hmrc__paye_income"].parent_keys == {
        dg.AssetKey(["raw", "hmrc__paye_income"])
    }
    assert specs["staging/stg_hmrc__paye_income"].group_name == "staging"
    for key in [
        "conformed/person_records",
        "conformed/persons",
        "conformed/properties",
        "conformed/income",
        "conformed/benefit_awards",
        "conformed/gp_registrations",
        "conformed/energy_certificates",
        "conformed/council_tax",
        "conformed/pupils",
        "marts/fuel_poverty_risk_by_local_authority",
        "marts/benefit_income_overlaps",
        "governance/ingestion_log",
    ]:
        assert key in specs, key
    assert specs["marts/fuel_poverty_risk_by_local_authority"].group_name == "marts"
    assert specs["conformed/persons"].group_name == "conformed"
    staged_owner = specs["staging/stg_dwp__benefit_awards"].owners
    assert staged_owner == specs["raw/dwp__benefit_awards"].owners


def test_dbt_tests_are_asset_checks(defs):
    graph = defs.resolve_asset_graph()
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    conformed_checks = {name for asset, name in checks if asset == "conformed/persons"}
    assert any(name.startswith("unique_") for name in conformed_checks), conformed_checks
    assert any(name.startswith("not_null_") for name in conformed_checks), conformed_checks
    assert any(asset.startswith("marts/") for asset, _ in checks)


def test_job_and_daily_schedule(defs):
    job = defs.resolve_job_def("commonground_everything")
    assert job is not None
    schedule = defs.resolve_schedule_def("commonground_daily")
    assert schedule.cron_schedule == "0 6 * * *"
    assert schedule.execution_timezone == "Europe/London"
    assert schedule.job_name == "commonground_everything"


SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"


def definitions_snapshot(defs: dg.Definitions) -> dict:
    """Everything the code location defines, as a reviewable document.

    Every asset (group, owners, kinds, upstream assets and checks, each check blocking or
    only recorded), job, schedule and sensor.
    """
    graph = defs.resolve_asset_graph()
    checks: dict[str, list[str]] = {}
    for key in graph.asset_check_keys:
        blocking = "blocking" if graph.get_check_spec(key).blocking else "recorded"
        checks.setdefault(key.asset_key.to_user_string(), []).append(f"{key.name} ({blocking})")
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        name = key.to_user_string()
        assets[name] = {
            "group": node.group_name,
            "owners": sorted(node.owners),
            "kinds": sorted(node.kinds),
            "materializable": node.is_materializable,
            "upstream": sorted(k.to_user_string() for k in node.parent_keys),
            "checks": sorted(checks.get(name, [])),
        }
    repository = defs.get_repository_def()
    return {
        "assets": assets,
        "jobs": sorted(j.name for j in repository.get_all_jobs() if not j.name.startswith("__")),
        "schedules": {
            s.name: {"cron": s.cron_schedule, "job": s.job_name, "timezone": s.execution_timezone}
            for s in repository.schedule_defs
        },
        "sensors": sorted(s.name for s in repository.sensor_defs),
    }


def test_the_code_location_matches_its_reviewed_snapshot(defs):
    """A renamed model, a lost check or a new asset changes the snapshot: review the diff and
    update it with ``UPDATE_SNAPSHOTS=1 pytest tests/test_definitions.py``."""
    current = definitions_snapshot(defs)
    text = json.dumps(current, indent=1, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(text, encoding="utf-8")
    stored = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert set(current["assets"]) == set(stored["assets"]), (
        "asset keys changed: added "
        f"{sorted(set(current['assets']) - set(stored['assets']))}, removed "
        f"{sorted(set(stored['assets']) - set(current['assets']))}"
    )
    changed = [k for k in current["assets"] if current["assets"][k] != stored["assets"][k]]
    assert not changed, f"assets changed (group, owners, kinds, upstream or checks): {changed}"
    assert current == stored


def test_every_step_is_in_the_warehouse_pool_and_every_job_writes_one_at_a_time(defs):
    """The instance admits one run at a time into the ``warehouse`` pool (granularity run) and
    one run at a time tagged as a writer: a step outside the pool, or a job without the tag,
    could run beside another writer and meet DuckDB's file lock."""
    graph = defs.resolve_asset_graph()
    outside = [
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if graph.get(key).is_materializable and graph.get(key).assets_def.op.pool != "warehouse"
    ]
    # Dagster's freshness checks read only its event log, never the warehouse.
    outside += [
        str(key)
        for key in graph.asset_check_keys
        if graph.assets_def_for_key(key).op.pool != "warehouse" and key.name != "freshness_check"
    ]
    assert outside == []
    repository = defs.get_repository_def()
    for job in repository.get_all_jobs():
        if not job.name.startswith("__"):
            assert job.tags.get("commonground/warehouse") == "write", job.name
    sensor = repository.get_sensor_def("landing_zone_sensor")
    assert sensor.minimum_interval_seconds == 30
