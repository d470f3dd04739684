"""What an incremental run rebuilds from scratch, and how person-key changes are recorded."""

from __future__ import annotations

import copy
import json
import shutil

import duckdb
import pytest

from orchestration import governance
from orchestration.incremental import (
    forget_builds,
    models_to_refresh,
    record_builds,
    state_path,
)
from orchestration.linkage.delta import record_key_changes

KEY = "k" * 64


def _manifest() -> dict:
    def model(name, parents, macros=(), materialized="incremental", checksum="a"):
        return {
            "name": name,
            "resource_type": "model",
            "config": {"materialized": materialized},
            "checksum": {"checksum": checksum},
            "depends_on": {"nodes": list(parents), "macros": list(macros)},
            "columns": {},
        }

    return {
        "sources": {
            "source.p.dwp.awards": {"columns": {"award_id": {"data_type": "varchar"}}},
            "source.p.hmrc.income": {"columns": {"record_id": {"data_type": "varchar"}}},
        },
        "nodes": {
            "model.p.stg_awards": model(
                "stg_awards", ["source.p.dwp.awards"], ["macro.p.clean_name"]
            ),
            "model.p.stg_income": model("stg_income", ["source.p.hmrc.income"]),
            "model.p.int_union": model(
                "int_union", ["model.p.stg_awards", "model.p.stg_income"], materialized="table"
            ),
            "model.p.inc_downstream": model("inc_downstream", ["model.p.int_union"]),
        },
        "macros": {
            "macro.p.clean_name": {
                "macro_sql": "upper({{ x }})",
                "depends_on": {"macros": ["macro.p.clean_text"]},
            },
            "macro.p.clean_text": {"macro_sql": "trim({{ x }})", "depends_on": {"macros": []}},
        },
    }


def _built(manifest: dict, names: list[str], status: str = "success") -> dict:
    ids = {n["name"]: u for u, n in manifest["nodes"].items()}
    return {"results": [{"unique_id": ids[n], "status": status} for n in names]}


ALL = ["inc_downstream", "stg_awards", "stg_income"]


def test_every_incremental_model_is_rebuilt_from_scratch_until_built_once(tmp_path):
    manifest = _manifest()
    assert models_to_refresh(manifest, KEY, tmp_path) == ALL
    record_builds(manifest, KEY, tmp_path, _built(manifest, ALL))
    assert models_to_refresh(manifest, KEY, tmp_path) == []


@pytest.mark.parametrize(
    ("change", "rebuilt"),
    [
        # A macro that a macro of the model calls: the model and what is built from it.
        (lambda m: m["macros"]["macro.p.clean_text"].update(macro_sql="lower({{ x }})"),
         ["inc_downstream", "stg_awards"]),
        # The contract: the source's columns.
        (lambda m: m["sources"]["source.p.hmrc.income"]["columns"].update(extra={}),
         ["inc_downstream", "stg_income"]),
        # The model's own SQL, and its configuration.
        (lambda m: m["nodes"]["model.p.stg_income"]["checksum"].update(checksum="b"),
         ["inc_downstream", "stg_income"]),
        (lambda m: m["nodes"]["model.p.stg_awards"]["config"].update(unique_key=["x"]),
         ["inc_downstream", "stg_awards"]),
        # A table model upstream (not incremental itself).
        (lambda m: m["nodes"]["model.p.int_union"]["checksum"].update(checksum="c"),
         ["inc_downstream"]),
    ],
)  # fmt: skip
def test_a_change_rebuilds_from_scratch_what_depends_on_it_and_nothing_else(
    tmp_path, change, rebuilt
):
    manifest = _manifest()
    record_builds(manifest, KEY, tmp_path, _built(manifest, ALL))
    changed = copy.deepcopy(manifest)
    change(changed)
    assert models_to_refresh(changed, KEY, tmp_path) == rebuilt


def test_another_pseudonymisation_key_rebuilds_everything_and_is_not_stored(tmp_path):
    manifest = _manifest()
    record_builds(manifest, KEY, tmp_path, _built(manifest, ALL))
    assert models_to_refresh(manifest, "another key", tmp_path) == ALL
    assert KEY not in state_path(tmp_path).read_text()


def test_a_failed_build_a_damaged_record_or_a_forgotten_one_means_from_scratch(tmp_path):
    manifest = _manifest()
    record_builds(manifest, KEY, tmp_path, _built(manifest, ALL))
    record_builds(manifest, KEY, tmp_path, _built(manifest, ["stg_income"], status="error"))
    assert models_to_refresh(manifest, KEY, tmp_path) == ["stg_income"]
    state_path(tmp_path).write_text('{"models": {"model.p.stg_aw')
    assert models_to_refresh(manifest, KEY, tmp_path) == ALL
    record_builds(manifest, KEY, tmp_path, _built(manifest, ALL))
    forget_builds(tmp_path)
    assert models_to_refresh(manifest, KEY, tmp_path) == ALL


def test_person_key_changes_name_merges_splits_re_keys_and_removals():
    con = duckdb.connect()
    con.execute("attach ':memory:' as wh")
    con.execute("create schema wh.linkage")
    con.execute("use wh")
    governance.ensure(con, "person_key_changes")
    con.execute("use memory")
    before = [("r1", "A"), ("r2", "A"), ("r3", "B"), ("r4", "C"), ("r5", "D"), ("r6", "D"),
              ("r7", "E"), ("r8", "H")]  # fmt: skip
    after = [("r1", "A"), ("r2", "A"), ("r3", "A"), ("r4", "F"), ("r5", "D"), ("r6", "G"),
             ("r8", "H"), ("r9", "H")]  # fmt: skip
    for table, rows in (("wh.linkage.person_matches", before), ("person_matches", after)):
        con.execute(f"create table {table} (person_record_id varchar, person_key varchar)")
        con.executemany(f"insert into {table} values (?, ?)", rows)

    assert record_key_changes(con, "run-1") == 4
    changes = con.execute(
        "select run_id, old_person_key, new_person_key, reason, records "
        "from wh.governance.person_key_changes order by old_person_key"
    ).fetchall()
    assert changes == [
        ("run-1", "B", "A", "merge", 1),
        ("run-1", "C", "F", "re-keyed", 1),
        ("run-1", "D", "G", "split", 1),
        ("run-1", "E", None, "removed", 1),
    ]


@pytest.mark.slow
def test_a_model_named_for_a_full_refresh_is_rebuilt_and_otherwise_only_new_loads_are(
    demo_warehouse, tmp_path, monkeypatch
):
    """dbt honours the platform's full-refresh list (the project's should_full_refresh)."""
    from orchestration.runner import run_everything

    source, _ = demo_warehouse
    data_dir = tmp_path / "data"
    shutil.copytree(source, data_dir)
    monkeypatch.setenv("COMMONGROUND_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    warehouse = str(data_dir / "warehouse.duckdb")

    def remove_one_award() -> int:
        with duckdb.connect(warehouse) as con:
            con.execute(
                "delete from staging.stg_dwp__benefit_awards where award_id = "
                "(select min(award_id) from staging.stg_dwp__benefit_awards)"
            )
            return con.execute("select count(*) from staging.stg_dwp__benefit_awards").fetchone()[0]

    def staged() -> int:
        with duckdb.connect(warehouse, read_only=True) as con:
            return con.execute("select count(*) from staging.stg_dwp__benefit_awards").fetchone()[0]

    left = remove_one_award()
    assert run_everything(force=True).success
    assert staged() == left, "an incremental run re-staged rows that were not newly loaded"
    recorded = json.loads(state_path(data_dir).read_text())["models"]
    assert "model.commonground.stg_dwp__benefit_awards" in recorded
    forget_builds(data_dir)
    assert run_everything(force=True).success
    assert staged() == left + 1, "a model named for a full refresh was not rebuilt from scratch"
