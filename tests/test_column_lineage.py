"""Column-level lineage: the SQL classifier on hand-written queries, tracing, the Dagster
metadata and hooks, and, on the materialized demo, a mart's person key traced back to the
delivered NINO and NHS number through the pseudonymisation, with every model column covered."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration import governance, lineage
from orchestration.defs.governance.column_lineage import (
    COLUMN_LINEAGE_KEY,
    COMPLETE_CHECK,
    person_index_column_lineage,
)
from orchestration.defs.transform.assets import CommonGroundTranslator
from orchestration.lineage import AGGREGATED, DERIVED, DIRECT, MASKED, LineageRow, Step
from orchestration.privacy.pseudonyms import PSEUDONYM_FUNCTION
from orchestration.project import ensure_manifest
from orchestration.settings import get_settings

T = ("w", "raw", "t")
U = ("w", "raw", "u")
SCHEMA = {
    "w": {
        "raw": {
            "t": {"id": "int", "nino": "varchar", "name": "varchar", "amount": "varchar"},
            "u": {"id": "int", "region": "varchar", "pay": "double"},
        }
    }
}


def inputs(sql: str, schema=SCHEMA) -> dict[str, set[tuple]]:
    """Each output column's inputs as ``{(table, column, kind)}``."""
    result = lineage.query_lineage(sql, schema)
    assert not result.unresolved, result.unresolved
    return {
        column: {(i.relation[2], i.column, i.kind) for i in found}
        for column, found in result.columns.items()
    }


def test_copies_renames_and_casts_are_direct():
    assert inputs(
        "select id as record_id, cast(amount as decimal(18, 2)) as amount from w.raw.t"
    ) == {
        "record_id": {("t", "id", DIRECT)},
        "amount": {("t", "amount", DIRECT)},
    }


def test_expressions_are_derived_and_constants_have_no_input():
    found = inputs(
        "select upper(trim(name)) as name, coalesce(nino, 'none') as nino, "
        "case when amount like '£%' then 1 else 0 end as pounds, "
        "'dwp' as department, cast(null as varchar) as nhs_number from w.raw.t"
    )
    assert found == {
        "name": {("t", "name", DERIVED)},
        "nino": {("t", "nino", DERIVED)},
        "pounds": {("t", "amount", DERIVED)},
        "department": set(),
        "nhs_number": set(),
    }


def test_aggregates_are_aggregated_and_group_keys_stay_direct():
    found = inputs(
        "select region, sum(pay) as pay, count(distinct id) as people, count(*) as rows "
        "from w.raw.u group by region"
    )
    assert found == {
        "region": {("u", "region", DIRECT)},
        "pay": {("u", "pay", AGGREGATED)},
        "people": {("u", "id", AGGREGATED)},
        "rows": {("u", None, AGGREGATED)},
    }


def test_pseudonyms_and_hashes_are_masked():
    assert PSEUDONYM_FUNCTION in lineage.MASKING_FUNCTIONS
    found = inputs(
        f"select {PSEUDONYM_FUNCTION}('nino', upper(nino)) as nino_pseudonym, "
        "lower(sha256(name)) as name_hash, md5(cast(id as varchar)) as id_hash, "
        "case when nino is null then null else commonground_pseudonym('n', name) end as key "
        "from w.raw.t"
    )
    assert found == {
        "nino_pseudonym": {("t", "nino", MASKED)},
        "name_hash": {("t", "name", MASKED)},
        "id_hash": {("t", "id", MASKED)},
        # The condition only decides; the value is the pseudonym of the name.
        "key": {("t", "nino", DERIVED), ("t", "name", MASKED)},
    }


def test_joins_place_each_column_in_its_own_table():
    found = inputs(
        "select t.id, t.name, u.region, t.amount || u.region as label "
        "from w.raw.t as t left join w.raw.u as u on t.id = u.id"
    )
    assert found == {
        "id": {("t", "id", DIRECT)},
        "name": {("t", "name", DIRECT)},
        "region": {("u", "region", DIRECT)},
        "label": {("t", "amount", DERIVED), ("u", "region", DERIVED)},
    }


def test_ctes_keep_the_strongest_kind_along_the_path():
    found = inputs(
        """
        with source as (select * from w.raw.t),
        renamed as (select id as record_id, upper(nino) as nino, amount from source),
        final as (
            select
                record_id,
                commonground_pseudonym('nino', nino) as nino_pseudonym,
                sum(cast(amount as double)) over (partition by record_id) as total
            from renamed
        )
        select * from final
        """
    )
    assert found == {
        "record_id": {("t", "id", DIRECT)},
        "nino_pseudonym": {("t", "nino", MASKED)},
        "total": {("t", "amount", AGGREGATED), ("t", "id", DERIVED)},
    }


def test_select_star_expands_from_the_schema_and_an_unknown_star_is_unresolved():
    assert inputs("select * from w.raw.u") == {
        "id": {("u", "id", DIRECT)},
        "region": {("u", "region", DIRECT)},
        "pay": {("u", "pay", DIRECT)},
    }
    unknown = lineage.query_lineage("select * from w.raw.nowhere", SCHEMA)
    assert unknown.unresolved == ["*"]


def test_union_branches_each_contribute_and_literals_contribute_nothing():
    found = inputs(
        "with unioned as (select id, name, 'a' as origin from w.raw.t "
        "union all select id, cast(null as varchar), 'b' from w.raw.u) "
        "select id, name, origin || ':' || cast(id as varchar) as record_id from unioned"
    )
    assert found == {
        "id": {("t", "id", DIRECT), ("u", "id", DIRECT)},
        "name": {("t", "name", DIRECT)},
        "record_id": {("t", "id", DERIVED), ("u", "id", DERIVED)},
    }


def rows_of(*edges: tuple) -> list[LineageRow]:
    """Rows from ``(asset, column, upstream asset, upstream column, kind)``."""
    return [
        LineageRow(a, a.replace("/", "."), c, ua, ua and ua.replace("/", "."), uc, k)
        for a, c, ua, uc, k in edges
    ]


def test_trace_follows_every_path_to_its_source():
    rows = rows_of(
        ("marts/m", "key", "conformed/c", "key", DIRECT),
        ("conformed/c", "key", "staging/s", "nino", MASKED),
        ("conformed/c", "key", "staging/s", "origin", DERIVED),
        ("staging/s", "nino", "raw/r", "nino", DERIVED),
        ("staging/s", "origin", None, None, DERIVED),
        ("raw/r", "nino", "landing/d/r", "NINO", DIRECT),
    )
    paths = lineage.trace(rows, "marts/m", "key")
    assert sorted(paths) == sorted(
        [
            (
                Step("marts/m", "key", DIRECT),
                Step("conformed/c", "key", MASKED),
                Step("staging/s", "nino", DERIVED),
                Step("raw/r", "nino", DIRECT),
                Step("landing/d/r", "NINO", None),
            ),
            (
                Step("marts/m", "key", DIRECT),
                Step("conformed/c", "key", DERIVED),
                Step("staging/s", "origin", DERIVED),
            ),
        ]
    )
    assert lineage.trace(rows, "marts/m", "nothing") == [(Step("marts/m", "nothing", None),)]


def test_trace_stops_at_a_cycle_and_at_a_relation_counted_whole():
    rows = rows_of(
        ("a/x", "c", "a/y", "c", DIRECT),
        ("a/y", "c", "a/x", "c", DIRECT),
        ("a/x", "n", "a/y", None, AGGREGATED),
    )
    assert lineage.trace(rows, "a/x", "c") == [
        (Step("a/x", "c", DIRECT), Step("a/y", "c", DIRECT), Step("a/x", "c", None))
    ]
    assert lineage.trace(rows, "a/x", "n") == [
        (Step("a/x", "n", AGGREGATED), Step("a/y", None, None))
    ]


def test_rows_are_recorded_read_and_traced_from_the_warehouse():
    rows = rows_of(
        ("staging/s", "nino_pseudonym", "raw/r", "nino", MASKED),
        ("staging/s", "origin", None, None, DERIVED),
    )
    with duckdb.connect() as con:
        assert lineage.record(con, rows + rows, "run-1") == 2
        assert sorted(lineage.read_rows(con), key=str) == sorted(rows, key=str)
        assert con.execute("select distinct run_id from governance.column_lineage").fetchall() == [
            ("run-1",)
        ]
        assert lineage.trace(con, "staging/s", "nino_pseudonym")[0][0].kind == MASKED
        described = [c.name for c in governance.table(lineage.TABLE).columns]
        assert [
            d[0] for d in con.execute("select * from governance.column_lineage").description
        ] == described


def test_table_column_lineage_is_dagster_metadata_per_asset():
    rows = rows_of(
        ("staging/s", "nino", "raw/r", "nino", DERIVED),
        ("staging/s", "nino_pseudonym", "raw/r", "nino", MASKED),
        ("staging/s", "origin", None, None, DERIVED),
    )
    by_asset = lineage.table_column_lineage(rows)
    assert set(by_asset) == {dg.AssetKey(["staging", "s"])}
    deps = by_asset[dg.AssetKey(["staging", "s"])].deps_by_column
    assert deps["nino_pseudonym"] == [
        dg.TableColumnDep(asset_key=dg.AssetKey(["raw", "r"]), column_name="nino")
    ]
    assert deps["origin"] == []


def test_ingest_lineage_maps_each_delivered_header_to_its_raw_column(contracts):
    paye = contracts["hmrc__paye_income"]
    rows = lineage.ingest_lineage(paye, ["_source_file"])
    nino = next(c for c in paye.columns if c.standard_attribute == "person.nino")
    assert (
        LineageRow(
            "raw/hmrc__paye_income",
            "raw.hmrc__paye_income",
            nino.name,
            "landing/hmrc/paye_income",
            paye.landing_path,
            nino.physical_name,
            DIRECT,
        )
        in rows
    )
    assert {r.column_name for r in rows} == {c.name for c in paye.columns} | {"_source_file"}
    deps = lineage.ingest_column_lineage(paye).deps_by_column
    assert deps[nino.name] == [
        dg.TableColumnDep(
            asset_key=dg.AssetKey(["landing", "hmrc", "paye_income"]),
            column_name=nino.physical_name,
        )
    ]


def tiny_manifest(root: Path) -> dict:
    """A manifest of one source and two models; ``b`` selects ``*`` from ``a``, whose
    YAML documents none of its columns."""

    def node(name, kind, schema, columns, parents=()):
        return {
            "unique_id": f"{kind}.p.{name}",
            "resource_type": kind,
            "name": name,
            "package_name": "p",
            "original_file_path": f"models/{name}.sql",
            "relation_name": f'"w"."{schema}"."{name}"',
            "columns": {c: {"name": c, "data_type": None} for c in columns},
            "depends_on": {"nodes": list(parents)},
            "config": {"schema": schema},
        }

    source = node("t", "source", "raw", ["id", "nino"])
    a = node("a", "model", "staging", [], ["source.p.t"])
    b = node("b", "model", "conformed", ["id", "nino_key"], ["model.p.a"])
    for path, sql in {
        "a": 'select id, upper(nino) as nino from "w"."raw"."t"',
        "b": "select id, commonground_pseudonym('nino', nino) as nino_key "
        'from (select * from "w"."staging"."a")',
    }.items():
        (root / "compiled" / "p" / "models").mkdir(parents=True, exist_ok=True)
        (root / "compiled" / "p" / "models" / f"{path}.sql").write_text(sql)
    return {
        "metadata": {"adapter_type": "duckdb"},
        "nodes": {n["unique_id"]: n for n in (a, b)},
        "sources": {source["unique_id"]: source},
    }


def asset_key_of(props) -> dg.AssetKey:
    return dg.AssetKey([props["config"]["schema"], props["name"]])


def test_dbt_lineage_reads_models_parents_first(tmp_path):
    manifest = tiny_manifest(tmp_path)
    compiled = {
        uid: (tmp_path / "compiled" / "p" / n["original_file_path"]).read_text()
        for uid, n in manifest["nodes"].items()
    }
    result = lineage.dbt_lineage(manifest, compiled, asset_key_of)
    assert (result.models, result.missing, result.unresolved, result.failed) == (2, [], {}, {})
    assert lineage.trace(result.rows, "conformed/b", "nino_key") == [
        (
            Step("conformed/b", "nino_key", MASKED),
            Step("staging/a", "nino", DERIVED),
            Step("raw/t", "nino", None),
        )
    ]
    missing = lineage.dbt_lineage(manifest, {}, asset_key_of)
    assert missing.missing == ["staging/a", "conformed/b"]


def test_the_dbt_hook_attaches_column_lineage_to_model_materializations(tmp_path):
    manifest = tiny_manifest(tmp_path)

    class Translator:
        def get_asset_key(self, props):
            return asset_key_of(props)

    class Invocation:
        dagster_dbt_translator = Translator()
        target_path = tmp_path

        def __init__(self):
            self.manifest = manifest

        def stream(self):
            yield dg.Output(None, "a", metadata={"unique_id": "model.p.a"})
            yield dg.AssetMaterialization(["conformed", "b"], metadata={"unique_id": "model.p.b"})
            yield dg.AssetCheckResult(asset_key=dg.AssetKey(["conformed", "b"]), passed=True)

    events = list(lineage.with_column_lineage(Invocation()))
    b = events[1].metadata["dagster/column_lineage"].value
    assert b.deps_by_column["nino_key"] == [
        dg.TableColumnDep(asset_key=dg.AssetKey(["staging", "a"]), column_name="nino")
    ]
    assert "dagster/column_lineage" in events[0].metadata
    assert isinstance(events[2], dg.AssetCheckResult)


@pytest.mark.xdist_group("dbt_project")
def test_the_person_index_hook_derives_the_key_from_the_linked_identifiers():
    deps = person_index_column_lineage().deps_by_column
    records = dg.AssetKey(["intermediate", "int_person_records_unioned"])
    assert deps["person_record_id"] == [
        dg.TableColumnDep(asset_key=records, column_name="person_record_id")
    ]
    key_inputs = {d.column_name for d in deps["person_key"]}
    assert {"nino", "nhs_number", "person_record_id", "given_name", "date_of_birth"} <= key_inputs
    assert {d.asset_key for d in deps["person_key"]} == {records}


# End to end, on the materialized demo.


def delivered(contracts, attribute: str) -> set[tuple[str, str]]:
    """``(landing asset, delivered header)`` of every column of an attribute."""
    return {
        (lineage.landing_asset(c), col.physical_name)
        for c in contracts.values()
        for col in c.columns
        if col.standard_attribute == attribute
    }


@pytest.mark.xdist_group("dbt_project")
def test_a_marts_person_key_traces_to_the_delivered_nino_and_nhs_number(demo_warehouse, contracts):
    data_dir, summary = demo_warehouse
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        paths = lineage.trace(con, "marts/benefit_income_overlaps", "person_key")
        pseudonym = lineage.trace(con, "staging/stg_dwp__benefit_awards", "nino_pseudonym")
    reached: dict[tuple, list] = {}
    for path in paths:
        reached.setdefault((path[-1].asset, path[-1].column), []).append(path)
    ninos = delivered(contracts, "person.nino")
    nhs_numbers = delivered(contracts, "person.nhs_number")
    assert ninos and nhs_numbers
    assert ninos | nhs_numbers <= set(reached)
    for source in ninos | nhs_numbers:
        # Every way from the person key to a delivered identifier passes a pseudonymisation.
        assert all(any(s.kind == MASKED for s in p) for p in reached[source]), source
        # The person key is the keyed HMAC of the identifier: one hop, and only it, masks.
        direct = [
            p
            for p in reached[source]
            if [(s.asset, s.kind) for s in p if s.kind == MASKED]
            == [("linkage/person_matches", MASKED)]
        ]
        assert direct, reached[source]
        assert all(p[-2].asset.startswith("raw/") and p[-2].kind == DIRECT for p in direct)
    dwp = next(iter(delivered({"": contracts["dwp__benefit_awards"]}, "person.nino")))
    assert [(s.asset, s.kind) for s in pseudonym[0]] == [
        ("staging/stg_dwp__benefit_awards", MASKED),
        ("raw/dwp__benefit_awards", DIRECT),
        (dwp[0], None),
    ]


@pytest.mark.xdist_group("dbt_project")
def test_every_column_of_every_dbt_model_has_lineage(demo_warehouse, contracts):
    data_dir, summary = demo_warehouse
    checks = {(c.asset, c.name): c.passed for c in summary.checks}
    assert checks[(COLUMN_LINEAGE_KEY.to_user_string(), COMPLETE_CHECK)]
    translator = CommonGroundTranslator(list(contracts.values()))
    relations = lineage.dbt_relations(
        lineage.read_manifest(ensure_manifest()), translator.get_asset_key
    )
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        rows = lineage.read_rows(con)
        built = {
            (f"{s}.{t}", c)
            for s, t, c in con.execute(
                "select table_schema, table_name, column_name from information_schema.columns"
            ).fetchall()
        }
    described = {(r.asset, r.column_name) for r in rows}
    models = [r for r in relations.values() if r.resource_type == "model"]
    expected = {(m.asset, c) for m in models for (d, c) in built if d == m.dataset}
    assert len(expected) > 200
    assert expected - described == set()
    raw = {(lineage.raw_asset(c), col.name) for c in contracts.values() for col in c.columns}
    assert raw - described == set()
    seeds = {r.asset for r in relations.values() if r.resource_type == "seed"}
    for row in rows:
        if row.upstream_asset is None:
            assert row.kind == DERIVED and row.upstream_column is None, row
        elif row.upstream_column and not row.upstream_asset.startswith("landing/"):
            # Every upstream column is itself described (or a code list's): nothing dangles.
            assert (row.upstream_asset, row.upstream_column) in described or (
                row.upstream_asset in seeds
            ), row
    constants = {(r.asset, r.column_name) for r in rows if r.upstream_asset is None}
    assert ("intermediate/int_person_records_unioned", "department") in constants
    assert ("intermediate/int_person_records_unioned", "nino") not in constants


@pytest.mark.slow
def test_models_no_build_step_compiled_are_compiled_without_the_warehouse(tmp_path, monkeypatch):
    monkeypatch.setenv("COMMONGROUND_DATA_DIR", str(tmp_path))
    compiled = lineage.compile_models(["persons", "stg_dwp__benefit_awards"])
    assert set(compiled) == {
        "model.commonground.persons",
        "model.commonground.stg_dwp__benefit_awards",
    }
    assert '"warehouse"."conformed"."person_records"' in compiled["model.commonground.persons"]
    assert "commonground_pseudonym('nino'" in compiled["model.commonground.stg_dwp__benefit_awards"]
    assert not get_settings().warehouse_path.exists()
    assert not any(tmp_path.iterdir())


@pytest.mark.xdist_group("dbt_project")
def test_the_runs_build_steps_left_compiled_sql_for_every_model(demo_warehouse):
    data_dir, summary = demo_warehouse
    manifests = lineage.step_manifests(get_settings().dbt_target_dir, summary.run_id)
    compiled = lineage.compiled_code(manifests)
    models = {
        uid
        for uid, n in lineage.read_manifest(ensure_manifest())["nodes"].items()
        if n["resource_type"] == "model"
    }
    assert models and models <= set(compiled)
