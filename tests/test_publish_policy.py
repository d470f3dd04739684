"""Publish policy: the snapshot holds what the manifest and the governance list say, nothing
more, and no department's record ids."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from orchestration.privacy import pseudonym
from orchestration.project import ensure_manifest
from orchestration.publish import (
    PUBLISHED_GOVERNANCE_TABLES,
    PublishedModel,
    publish_snapshot,
    published_tables,
)
from orchestration.settings import DEVELOPMENT_PSEUDONYM_KEY

GOVERNANCE_FOR_ANALYSTS = {
    "quality_results",
    "quality_scorecard",
    "quality_declarations",
    "contracts",
    "linkage_metrics",
    "linkage_source_pairs",
    "consent_exclusions",
    "publication",
}
"""The governance tables decided for analysts (issue 12): never ingestion_log or sharing_log."""

INTERNAL_MART = ("marts_warm_homes", "fuel_poverty_risk_by_local_authority")


def _publishable(manifest_path: Path) -> set[tuple[str, str]]:
    """``(schema, name)`` of the manifest's conformed and mart models and of its seeds (the
    code lists, schema ``reference``) not marked ``meta.publish: false``, read straight from
    the manifest."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    found = set()
    for node in manifest["nodes"].values():
        schema = node.get("schema") or ""
        model = node["resource_type"] == "model" and (
            schema == "conformed" or schema.startswith("marts")
        )
        seed = node["resource_type"] == "seed" and schema == "reference"
        if not (model or seed):
            continue
        meta = {**(node.get("meta") or {}), **(node["config"].get("meta") or {})}
        if meta.get("publish") is not False:
            found.add((schema, node["name"]))
    return found


def _snapshot_tables(path: Path) -> tuple[set[tuple[str, str]], int]:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database()"
        ).fetchall()
        (count,) = con.execute("select tables from governance.publication").fetchall()[0]
    return set(tables), count


def test_the_snapshot_holds_exactly_the_publishable_models_and_the_governance_list(
    demo_warehouse, tmp_path, monkeypatch
):
    data_dir, _ = demo_warehouse
    monkeypatch.setenv("COMMONGROUND_DBT_TARGET_DIR", str(tmp_path / "target"))
    publishable = _publishable(ensure_manifest())
    assert INTERNAL_MART not in publishable
    assert ("marts_warm_homes", "fuel_poverty_risk_by_local_authority_published") in publishable
    assert {("reference", "sex"), ("reference", "main_fuels")} <= publishable, "the code lists"
    assert set(PUBLISHED_GOVERNANCE_TABLES) | {"publication"} == GOVERNANCE_FOR_ANALYSTS

    tables, count = _snapshot_tables(data_dir / "published" / "analytics.duckdb")

    assert tables == publishable | {("governance", t) for t in GOVERNANCE_FOR_ANALYSTS}
    assert INTERNAL_MART not in tables
    assert count == len(tables)


def test_the_snapshot_leaves_out_internal_tables_and_columns(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("create schema marts_x").complete()
    con.execute("create table marts_x.published_mart as select 10 as homes").complete()
    con.execute("create table marts_x.internal_mart as select 9 as homes").complete()
    con.execute("create schema governance").complete()
    con.execute("create table governance.ingestion_log as select 'landing/x.csv' as file_path")
    con.execute(
        "create table governance.contracts as "
        "select 'c1' as contract_id, 'expectations/contracts/x.yaml' as contract_path"
    )
    models = [PublishedModel("marts", "published_mart", "marts_x", "")]

    publication = publish_snapshot(
        con, tmp_path / "published", published_tables(models), "run-1", set()
    )
    con.close()

    tables, count = _snapshot_tables(publication.path)
    expected = {("marts_x", "published_mart")}
    expected |= {("governance", t) for t in GOVERNANCE_FOR_ANALYSTS}
    assert tables == expected
    assert count == len(tables) == len(publication.tables) + 1
    with duckdb.connect(str(publication.path), read_only=True) as snapshot:
        columns = snapshot.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'governance' and table_name = 'contracts'"
        ).fetchall()
        # a governance table not written yet is published empty, with its defined columns
        scorecard = snapshot.execute("select count(*) from governance.quality_scorecard")
        assert scorecard.fetchall() == [(0,)]
    assert columns == [("contract_id",)]


DEPARTMENT_RECORD_IDS = {
    "award_id",
    "paye_record_id",
    "record_id",
    "employer_paye_ref",
    "registration_id",
    "account_ref",
    "person_record_id",
}
"""Columns that held departments' record ids (classified official) before issue 12."""


def test_department_record_ids_are_published_only_as_keyed_pseudonyms(demo_warehouse):
    data_dir, _ = demo_warehouse
    with duckdb.connect(str(data_dir / "published" / "analytics.duckdb"), read_only=True) as con:
        named = con.execute(
            "select table_schema || '.' || table_name || '.' || column_name "
            "from information_schema.columns where lower(column_name) in "
            "(select unnest(?::varchar[]))",
            [sorted(DEPARTMENT_RECORD_IDS)],
        ).fetchall()
        awards = dict(
            con.execute(
                "select award_key, weekly_amount from conformed.benefit_awards "
                "where award_key is not null"
            ).fetchall()
        )
        overlaps = con.execute(
            "select count(*), count(*) filter (where award_key in "
            "(select award_key from conformed.benefit_awards)) "
            "from marts_undeclared_income.benefit_income_overlaps"
        ).fetchall()[0]
        lmk_keys = con.execute("select count(lmk_key) from conformed.energy_certificates")
        assert lmk_keys.fetchall()[0][0] > 0, "lmk_key is classified public and kept"
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        staged = con.execute(
            "select award_id, cast(weekly_amount as decimal(18, 2)) "
            "from staging.stg_dwp__benefit_awards"
        ).fetchall()
    assert not named, named
    assert overlaps[0] > 0 and overlaps[0] == overlaps[1]
    expected = {
        pseudonym(DEVELOPMENT_PSEUDONYM_KEY, "award_id", award_id): amount
        for award_id, amount in staged
        if award_id is not None
    }
    assert len(awards) == len(staged) and awards == expected
