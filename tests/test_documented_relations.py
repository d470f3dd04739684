"""Governance people can see: every table and column says what it holds, in the warehouse,
the published snapshot and the Dagster UI; the code lists are published; quality results
name real tables; every check names its GDQF dimension; a department has one owner."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import duckdb
import pytest
import yaml

from orchestration import governance
from orchestration.contracts import load_contracts
from orchestration.definitions import defs as load_defs
from orchestration.defs.linkage.assets import LINKAGE_TABLES
from orchestration.defs.transform.assets import (
    DIMENSION_BY_TEST,
    MissingDimension,
    department_owners,
    dimension_of_test,
)
from orchestration.ingest import ensure_warehouse
from orchestration.ingest.tables import (
    LINEAGE_DESCRIPTIONS,
    QUARANTINE_DESCRIPTIONS,
    table_descriptions,
)
from orchestration.project import DBT_PROJECT_DIR, ensure_manifest
from orchestration.publish import (
    PUBLISHED_GOVERNANCE_TABLES,
    PublishedModel,
    blocking_failures,
    publish_snapshot,
    published_tables,
)
from orchestration.quality.outcome import ExpectationOutcome
from orchestration.quality.results import (
    record_outcomes,
    rename_recorded_datasets,
    warehouse_datasets,
)
from orchestration.standards import GDQF_DIMENSIONS

# Loading definitions may parse the dbt project; share a worker with the other dbt users.
pytestmark = pytest.mark.xdist_group("dbt_project")

NOT_TABLES = {
    "linkage/person_model": "a versioned JSON model file",
    "governance/quality_docs": "a static HTML site (Great Expectations Data Docs)",
    "governance/portal": "the static governance portal (HTML)",
}
"""Materializable assets that write no warehouse table, and what they write instead."""

CODE_LISTS = {
    "sex",
    "ethnicity",
    "benefit_types",
    "energy_ratings",
    "council_tax_bands",
    "main_fuels",
    "local_authorities",
    "countries",
}

HOSTILE = "It's a test'; drop table raw.x; -- \"quoted\" ; comment on table raw.x is 'owned'"
"""Contract text trying to break out of a SQL string literal."""


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(ensure_manifest().read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return load_defs()


@pytest.fixture(scope="module")
def graph(defs):
    return defs.resolve_asset_graph()


def _documented(manifest: dict) -> list[dict]:
    """The manifest's models and seeds: the tables dbt builds."""
    return [n for n in manifest["nodes"].values() if n["resource_type"] in {"model", "seed"}]


def _text(value: str | None) -> str:
    return " ".join((value or "").split())


# dbt documentation


def test_every_model_seed_and_column_is_documented_with_rendered_text(manifest):
    nodes = _documented(manifest)
    assert {n["name"] for n in nodes if n["resource_type"] == "seed"} == CODE_LISTS
    missing, unrendered, not_persisted = [], [], []
    for node in nodes:
        texts = {node["name"]: node.get("description")}
        texts |= {f"{node['name']}.{c}": v.get("description") for c, v in node["columns"].items()}
        missing += [name for name, text in texts.items() if not _text(text)]
        unrendered += [n for n, t in texts.items() if "var(" in (t or "") or "{{" in (t or "")]
        if node["config"].get("persist_docs") != {"relation": True, "columns": True}:
            not_persisted.append(node["name"])
        if not node["columns"]:
            missing.append(f"{node['name']} (no columns documented)")
    assert not missing, f"undocumented: {missing}"
    assert not unrendered, f"descriptions with unrendered Jinja: {unrendered}"
    assert not not_persisted, f"descriptions not persisted to the warehouse: {not_persisted}"
    mart = manifest["nodes"]["model.commonground.fuel_poverty_risk_by_local_authority"]
    assert "rated one of E, F, G" in mart["description"]
    assert "2026-04-05" in mart["columns"]["homes_e_to_g_income_related"]["description"]


def test_asset_descriptions_show_no_unrendered_jinja(graph):
    shown = {
        key.to_user_string(): graph.get(key).description or ""
        for key in graph.get_all_asset_keys()
        if graph.get(key).is_materializable
    }
    assert not [k for k, text in shown.items() if "var(" in text or "{{" in text]
    overlaps = shown["marts/benefit_income_overlaps"]
    assert "(UC, PC, ESA, JSA, HB)" in overlaps and "£2500" in overlaps


def test_the_linkage_source_documents_person_matches_as_the_linkage_asset_does():
    path = DBT_PROJECT_DIR / "models" / "intermediate" / "person" / "_linkage__sources.yml"
    source = yaml.safe_load(path.read_text(encoding="utf-8"))["sources"][0]
    table = next(t for t in source["tables"] if t["name"] == "person_matches")
    description, columns = LINKAGE_TABLES["person_matches"]
    assert _text(table["description"]) == description
    assert {c["name"]: _text(c["description"]) for c in table["columns"]} == columns


# Dagster: column schemas, check dimensions, owners


def _undescribed_columns(graph) -> dict[str, list[str]]:
    """Asset -> its columns without a description (``["<no column schema>"]`` without one),
    for every materializable asset that writes a warehouse table."""
    lacking = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        name = key.to_user_string()
        if not node.is_materializable or name in NOT_TABLES:
            continue
        schema = node.metadata.get("dagster/column_schema")
        if not isinstance(schema, dg.TableSchema) or not schema.columns:
            lacking[name] = ["<no column schema>"]
            continue
        undescribed = [c.name for c in schema.columns if not _text(c.description)]
        if undescribed:
            lacking[name] = undescribed
    return lacking


def test_every_asset_that_writes_a_table_has_a_described_column_schema(graph):
    lacking = _undescribed_columns(graph)
    assert not lacking, lacking
    assert "dagster/column_schema" not in (
        graph.get(dg.AssetKey(["linkage", "person_model"])).metadata
    )


def test_the_raw_assets_describe_their_lineage_columns(graph, contracts):
    for contract in contracts.values():
        node = graph.get(dg.AssetKey(["raw", contract.raw_table]))
        schema = node.metadata["dagster/column_schema"]
        described = {c.name: c.description for c in schema.columns}
        warehouse = table_descriptions(contract)["raw"][1]
        assert described == warehouse, "Dagster shows the columns as the warehouse comments them"
        lineage = {n: d for n, d in described.items() if n.startswith("_")}
        assert lineage == LINEAGE_DESCRIPTIONS and all(_text(d) for d in lineage.values())
        assert node.metadata["dagster/table_name"] == f"raw.{contract.raw_table}"


def test_governance_assets_show_their_tables_columns_as_defined(graph):
    for name in ("quality_results", "contracts", "ingestion_log", "linkage_source_pairs"):
        schema = graph.get(dg.AssetKey(["governance", name])).metadata["dagster/column_schema"]
        defined = governance.table(name).columns
        assert [(c.name, c.description) for c in schema.columns] == [
            (c.name, c.description) for c in defined
        ]
        assert graph.get(dg.AssetKey(["governance", name])).metadata["dagster/table_name"] == (
            f"governance.{name}"
        )


def test_the_published_asset_lists_every_published_column(graph, manifest):
    schema = graph.get(dg.AssetKey(["published", "analytics"])).metadata["dagster/column_schema"]
    names = {c.name for c in schema.columns}
    assert "reference.sex.sex_name" in names
    assert "marts_warm_homes.fuel_poverty_risk_by_local_authority_published.suppressed_cells" in (
        names
    )
    assert "governance.contracts.contract_path" not in names, "left out of the published copy"
    assert not any(
        n.startswith("marts_warm_homes.fuel_poverty_risk_by_local_authority.") for n in names
    )


def _dbt_checks(graph) -> dict[dg.AssetCheckKey, dg.AssetCheckSpec]:
    specs = {k: graph.get_check_spec(k) for k in graph.asset_check_keys}
    return {k: s for k, s in specs.items() if "dagster_dbt/unique_id" in s.metadata}


def test_every_dbt_test_is_a_check_with_a_description_and_its_gdqf_dimension(graph, manifest):
    checks = _dbt_checks(graph)
    tests = {
        uid: n
        for uid, n in manifest["nodes"].items()
        if n["resource_type"] == "test" and n.get("attached_node")
    }
    assert len(checks) == len(tests) > 100
    for spec in checks.values():
        test = tests[spec.metadata["dagster_dbt/unique_id"]]
        kind = test["test_metadata"]["name"]
        dimension = spec.metadata["gdqf_dimension"]
        assert dimension == DIMENSION_BY_TEST[kind], (spec.name, dimension)
        severity = "ERROR" if spec.blocking else "WARN"
        assert spec.description.startswith(f"[{dimension} · {severity}] "), spec.description
        column = test["column_name"]
        assert column in spec.description and len(spec.description) > 30
    relationship = next(s for s in checks.values() if s.name.startswith("relationships_income_"))
    assert "of conformed.persons" in relationship.description


def test_a_dbt_tests_dimension_comes_from_its_type_unless_its_meta_says_otherwise():
    def test(kind, meta=None):
        return {"name": f"{kind}_x", "test_metadata": {"name": kind}, "config": {"meta": meta}}

    assert dimension_of_test(test("not_null")) == "completeness"
    assert dimension_of_test(test("unique")) == "uniqueness"
    assert dimension_of_test(test("relationships")) == "validity"
    assert dimension_of_test(test("not_null", {"dimension": "accuracy"})) == "accuracy"
    with pytest.raises(MissingDimension, match="meta: {dimension"):
        dimension_of_test(test("my_custom_test"))
    with pytest.raises(MissingDimension, match="'freshness', not one of"):
        dimension_of_test(test("unique", {"dimension": "freshness"}))


def test_governance_checks_carry_a_description_and_their_gdqf_dimension(graph):
    measured = {"consent_exclusions", "linkage_metrics", "linkage_source_pairs"}
    owned = [
        k
        for k in graph.asset_check_keys
        if k.asset_key.path[0] == "governance" and k.asset_key.path[-1] in measured
    ]
    assert len(owned) == 7
    for key in owned:
        spec = graph.get_check_spec(key)
        dimension = spec.metadata.get("gdqf_dimension")
        assert dimension in GDQF_DIMENSIONS, key
        assert spec.description.startswith(f"[{dimension} · "), key


def test_every_asset_check_carries_a_description_and_its_gdqf_dimension(graph):
    lacking = []
    for key in graph.asset_check_keys:
        spec = graph.get_check_spec(key)
        if not _text(spec.description) or spec.metadata.get("gdqf_dimension") not in (
            GDQF_DIMENSIONS
        ):
            lacking.append(f"{key.asset_key.to_user_string()} :: {key.name}")
    assert not lacking, lacking
    raw = dg.AssetKey(["raw", "nhs__gp_registrations"])
    freshness = graph.get_check_spec(dg.AssetCheckKey(raw, "freshness_check"))
    assert freshness.description.startswith("[timeliness · WARN] ")
    assert freshness.metadata["gdqf_dimension"] == "timeliness"
    # the factory's parameters, which its sensor reads, are kept
    assert "lower_bound_delta_seconds" in freshness.metadata["dagster/freshness_params"].data
    drift = graph.get_check_spec(dg.AssetCheckKey(raw, "format_drift"))
    assert drift.metadata["gdqf_dimension"] == "validity" and drift.blocking
    gx = graph.get_check_spec(dg.AssetCheckKey(raw, "nhs_number_valid"))
    assert gx.description.startswith(f"[{gx.metadata['gdqf_dimension']} · ERROR] ")


def test_a_department_has_one_owner_on_every_layer(graph, manifest, contracts):
    owners = department_owners(list(contracts.values()))
    named = {
        n["name"]: n["config"]["meta"]["department"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and (n["config"].get("meta") or {}).get("department")
    }
    assert named["benefit_awards"] == "dwp" and named["council_tax"] == "council"
    by_department: dict[str, dict[str, tuple[str, ...]]] = {}
    for key in graph.get_all_asset_keys():
        layer, name = key.path[0], key.path[-1]
        if layer in {"raw", "staging"}:
            department = name.removeprefix("stg_").split("__")[0]
        elif layer == "conformed" and name in named:
            department = named[name]
        else:
            continue
        by_department.setdefault(department, {})[key.to_user_string()] = tuple(
            graph.get(key).owners
        )
    assert set(by_department) == set(owners)
    for department, assets in by_department.items():
        assert set(assets.values()) == {(owners[department],)}, (department, assets)
    assert len(by_department["dwp"]) == 3, "raw, staging and conformed"


def test_a_department_whose_contracts_name_two_owners_is_refused():
    contracts = [
        SimpleNamespace(department="dwp", owner="a@dwp.example.gov.uk", path=Path("a.yaml")),
        SimpleNamespace(department="dwp", owner="b@dwp.example.gov.uk", path=Path("b.yaml")),
    ]
    with pytest.raises(ValueError, match="department dwp has two owners"):
        department_owners(contracts)


# Quality results name warehouse tables


def _outcome(name: str, success: bool) -> ExpectationOutcome:
    return ExpectationOutcome(name, "validity", "ERROR", "rule", success)


def test_results_are_recorded_and_read_under_the_tables_warehouse_name(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    for schema, table in [("marts_a", "mart"), ("raw", "dept__data"), ("marts_a", "x")]:
        con.execute(f"create schema if not exists {schema}")
        con.execute(f"create table {schema}.{table} (n integer)")
    con.execute("create schema marts_b; create table marts_b.x (n integer)")

    names = warehouse_datasets(con, ["marts.mart", "raw.dept__data", "marts.x", "marts.gone"])
    assert names == {
        "marts.mart": "marts_a.mart",
        "raw.dept__data": "raw.dept__data",
        "marts.x": "marts.x",  # two tables called x: ambiguous, kept
        "marts.gone": "marts.gone",
    }
    record_outcomes(con, "run-1", "marts.mart", [_outcome("rule_holds", False)])
    recorded = con.execute("select dataset from governance.quality_results").fetchall()
    assert recorded == [("marts_a.mart",)]
    # publishing still sees the failed blocking check the asset key's name points at
    assert blocking_failures(con, [("marts.mart", "rule_holds")]) == [
        ("marts_a.mart", "rule_holds", None)
    ]
    # results recorded before datasets were named by schema are renamed once
    con.execute(
        "insert into governance.quality_results (run_id, validated_at, dataset, check_name, "
        "dimension, severity, success) values ('run-0', now(), 'marts.mart', 'old', "
        "'validity', 'WARN', true)"
    )
    assert rename_recorded_datasets(con) == 1
    datasets = con.execute("select distinct dataset from governance.quality_results").fetchall()
    assert datasets == [("marts_a.mart",)]


# The published snapshot


def test_the_snapshot_carries_the_warehouse_comments_and_the_governance_descriptions(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("create schema marts_x; create schema reference")
    con.execute("create table marts_x.mart (code varchar, homes integer, note varchar)")
    con.execute("comment on table marts_x.mart is 'Homes per code.'")
    con.execute("comment on column marts_x.mart.code is 'Code (reference.codes).'")
    con.execute("comment on column marts_x.mart.homes is 'Homes.'")
    con.execute("create table reference.codes as select 'A' as code, 'Alpha' as code_name")
    con.execute("comment on table reference.codes is 'Code list.'")
    con.execute("comment on column reference.codes.code is 'The code.'")
    con.execute("comment on column reference.codes.code_name is 'Its name.'")
    governance.ensure(con, "contracts")
    models = [
        PublishedModel("marts", "mart", "marts_x", ""),
        PublishedModel("reference", "codes", "reference", ""),
    ]

    publication = publish_snapshot(
        con, tmp_path / "published", published_tables(models), "run-1", set()
    )
    con.close()

    assert publication.undocumented == ("marts_x.mart.note",)
    with duckdb.connect(str(publication.path), read_only=True) as snapshot:
        tables = dict(
            snapshot.execute(
                "select schema_name || '.' || table_name, comment from duckdb_tables()"
            ).fetchall()
        )
        columns = dict(
            snapshot.execute(
                "select schema_name || '.' || table_name || '.' || column_name, comment "
                "from duckdb_columns()"
            ).fetchall()
        )
    assert tables["marts_x.mart"] == "Homes per code."
    assert tables["reference.codes"] == "Code list."
    assert columns["reference.codes.code_name"] == "Its name."
    for name in [*PUBLISHED_GOVERNANCE_TABLES, "publication"]:
        assert tables[f"governance.{name}"] == governance.table(name).description
    assert columns["governance.contracts.owner"] == "Data owner (e-mail)."
    assert "governance.contracts.contract_path" not in columns


# The materialized demo (slow)


def test_every_table_and_column_the_pipeline_builds_carries_its_description(
    demo_warehouse, manifest
):
    data_dir, _ = demo_warehouse
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        tables = {
            (s, t): c
            for s, t, c in con.execute(
                "select schema_name, table_name, comment from duckdb_tables() "
                "where database_name = current_database()"
            ).fetchall()
        }
        columns = {
            (s, t, c): comment
            for s, t, c, comment in con.execute(
                "select schema_name, table_name, column_name, comment from duckdb_columns() "
                "where database_name = current_database()"
            ).fetchall()
        }
    for node in _documented(manifest):
        relation = (node["schema"], node["alias"])
        assert relation in tables, relation
        assert tables[relation] == _text(node["description"]), relation
        for name, column in node["columns"].items():
            assert columns[(*relation, name)] == _text(column["description"]), (relation, name)
    assert {s for s, _ in tables} >= {
        "conformed",
        "reference",
        "governance",
        "linkage",
        "raw",
        "quarantine",
    }
    assert not [k for k in tables if not _text(tables[k])]
    bare = [k for k, v in columns.items() if not _text(v)]
    assert not bare, f"columns without a comment: {bare}"


def _comments(con, schema: str, table: str) -> dict[str | None, str | None]:
    """``None`` -> the table's comment, and each column's."""
    return dict(
        con.execute(
            "select null, comment from duckdb_tables() where schema_name = ? and table_name = ? "
            "union all select column_name, comment from duckdb_columns() "
            "where schema_name = ? and table_name = ?",
            [schema, table, schema, table],
        ).fetchall()
    )


def test_raw_and_quarantine_tables_are_commented(demo_warehouse, contracts):
    data_dir, _ = demo_warehouse
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        bare = con.execute(
            "select count(*) from duckdb_columns() where database_name = current_database() "
            "and schema_name in ('raw', 'quarantine') and coalesce(trim(comment), '') = ''"
        ).fetchone()[0]
        found = {
            (schema, contract.raw_table): _comments(con, schema, contract.raw_table)
            for contract in contracts.values()
            for schema in ("raw", "quarantine")
        }
    assert bare == 0
    for contract in contracts.values():
        for schema, (description, columns) in table_descriptions(contract).items():
            comments = found[(schema, contract.raw_table)]
            assert comments == {None: description, **columns}, (schema, contract.raw_table)
            assert contract.title in description
        raw_columns = table_descriptions(contract)["raw"][1]
        assert all(raw_columns[c.name].startswith(_text(c.description)) for c in contract.columns)
    assert len(found) == 2 * len(contracts) >= 14


def test_contract_text_is_commented_verbatim_never_run_as_sql(tmp_path, monkeypatch):
    contract = load_contracts()[0]
    hostile = dataclasses.replace(
        contract,
        title=HOSTILE,
        description=HOSTILE,
        columns=tuple(dataclasses.replace(c, description=HOSTILE) for c in contract.columns),
    )
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_warehouse(con, [hostile])
    con.execute("create table raw.x (n integer)")  # what the hostile text tries to reach
    ensure_warehouse(con, [hostile])  # and again, over the comments already set

    expected = table_descriptions(hostile)
    for schema, (description, columns) in expected.items():
        assert _comments(con, schema, contract.raw_table) == {None: description, **columns}
        assert HOSTILE in description
    assert all(HOSTILE in expected["raw"][1][c.name] for c in contract.columns)
    assert _comments(con, "raw", "x") == {None: None, "n": None}, "nothing else ran"
    assert expected["quarantine"][1] == QUARANTINE_DESCRIPTIONS

    # a changed contract changes the comments; an unchanged one writes none
    ensure_warehouse(con, [contract])
    assert _comments(con, "raw", contract.raw_table) == {
        None: table_descriptions(contract)["raw"][0],
        **table_descriptions(contract)["raw"][1],
    }
    written = []
    monkeypatch.setattr(governance, "comment_on", lambda *args, **kw: written.append(args))
    ensure_warehouse(con, [contract])
    assert [a[1:3] for a in written if a[1] != "governance"] == []
    con.close()


def test_analysts_get_every_table_and_column_described_and_the_code_lists(demo_warehouse):
    data_dir, _ = demo_warehouse
    with duckdb.connect(str(data_dir / "published" / "analytics.duckdb"), read_only=True) as con:
        bare = con.execute(
            """
            select schema_name || '.' || table_name from duckdb_tables()
            where coalesce(trim(comment), '') = ''
            union all
            select schema_name || '.' || table_name || '.' || column_name from duckdb_columns()
            where database_name = current_database() and coalesce(trim(comment), '') = ''
            """
        ).fetchall()
        tables = con.execute("select count(*), count(comment) from duckdb_tables()").fetchone()
        code_lists = dict(
            con.execute(
                "select table_name, estimated_size from duckdb_tables() "
                "where schema_name = 'reference'"
            ).fetchall()
        )
        undecoded = con.execute(
            """
            select count(*) filter (where p.sex is not null and s.sex_code is null),
                count(*) filter (where s.sex_name is not null)
            from conformed.persons as p
            left join reference.sex as s on p.sex = s.sex_code
            """
        ).fetchone()
        fuels = con.execute(
            "select count(*) from conformed.energy_certificates as e "
            "where e.main_fuel_code is not null and e.main_fuel_code not in "
            "(select fuel_code from reference.main_fuels)"
        ).fetchone()[0]
    assert not bare, f"published without a description: {bare}"
    assert tables[0] == tables[1] > 20
    assert set(code_lists) == CODE_LISTS
    assert undecoded[0] == 0 and undecoded[1] > 0, "every sex code decodes with reference.sex"
    assert fuels == 0


def test_every_dataset_named_by_quality_governance_is_a_warehouse_table(demo_warehouse):
    data_dir, _ = demo_warehouse
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        named = {
            table: {
                d
                for (d,) in con.execute(
                    f"select distinct dataset from governance.{table}"
                ).fetchall()
            }
            for table in ("quality_results", "quality_scorecard", "quality_declarations")
        }
        tables = {
            f"{s}.{t}"
            for s, t in con.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }
    for table, datasets in named.items():
        assert datasets and datasets <= tables, (table, datasets - tables)
    everything = set().union(*named.values())
    assert "marts_warm_homes.fuel_poverty_risk_by_local_authority_published" in everything
    assert "marts_undeclared_income.benefit_income_overlaps" in named["quality_scorecard"]
    assert not [d for d in everything if d.startswith("marts.")]
