"""One benchmark stage, run in its own process so its peak memory can be measured.

``python -m orchestration.bench.worker STAGE RESULT_JSON`` runs one stage against the data
directory in ``COMMONGROUND_DATA_DIR`` and writes ``{"rows": ..., "detail": ...}`` to
RESULT_JSON. The parent (:mod:`orchestration.bench.runner`) times the process and reads its
peak RSS from ``wait4``.

Imports are deferred into each stage's function, so that a stage's peak memory and time
count only what that stage loads.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import duckdb

from orchestration.contracts import load_contracts
from orchestration.sql import quote_identifier, quote_literal

DBT_LAYERS = ("staging", "intermediate", "conformed", "marts", "reference")


def _materialize(intake: bool) -> dict:
    """Materializes the intake assets (``intake``) or everything else, with per-step times."""
    import dagster as dg

    from orchestration.definitions import defs
    from orchestration.project import ensure_manifest
    from orchestration.runner import JOB_NAME, intake_keys

    ensure_manifest()
    definitions = defs()
    job = definitions.resolve_job_def(JOB_NAME)
    graph = definitions.resolve_asset_graph()
    first = intake_keys(graph)
    keys = (
        first
        if intake
        else [
            k
            for k in graph.get_all_asset_keys()
            if graph.get(k).is_materializable and k not in set(first)
        ]
    )
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            instance=instance,
            asset_selection=keys,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
        )
    failed = sorted(e.step_key for e in result.all_events if e.is_step_failure and e.step_key)
    steps = {
        e.step_key: e.event_specific_data.duration_ms / 1000
        for e in result.all_events
        if e.event_type_value == "STEP_SUCCESS" and e.step_key
    }
    return {"success": result.success, "failed_steps": failed, "steps": steps}


def _everything() -> dict:
    """One ``commonground run`` (ingest, then a rebuild if anything changed)."""
    from orchestration.runner import run_everything

    summary = run_everything(log_level="ERROR")
    return {
        "success": summary.success and not summary.blocking_failures,
        "failed_steps": summary.failed_steps,
        "steps": summary.step_seconds,
        "skipped_reason": summary.skipped_reason,
        "blocking_failures": [f"{c.asset} :: {c.name}" for c in summary.blocking_failures],
    }


def _raw_rows(warehouse: Path) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw'"
        ).fetchall()
        return sum(
            con.execute(f"select count(*) from raw.{quote_identifier(t)}").fetchone()[0]
            for (t,) in tables
        )


def ingest_floor(landing: Path, database: Path) -> int:
    """Plain DuckDB reading every landing file into a table; returns rows read."""
    from orchestration.bench.ingest import read_into_table

    rows = 0
    with duckdb.connect(str(database)) as con:
        for contract in load_contracts():
            folder = landing / contract.department / contract.dataset
            for i, path in enumerate(sorted(folder.glob("*"))):
                rows += read_into_table(con, contract, path, f"{contract.raw_table}_{i}")
    return rows


def dbt_floor(database: Path, target_dir: Path) -> int:
    """Runs the SQL dbt executed (``target/run``) directly in one DuckDB connection.

    Every dbt invocation under ``target_dir`` (the benchmark gives each size its own) is
    replayed in the order it ran. The database is a copy of the warehouse after those
    builds, so every upstream table exists; each model's statements create its
    ``__dbt_tmp`` relation exactly as dbt did, each test's query runs once, and seeds are
    read from their CSV files.

    Returns:
        Statements executed.
    """
    from orchestration.privacy import register_pseudonym_function
    from orchestration.project import DBT_PROJECT_DIR
    from orchestration.settings import get_settings

    runs = sorted(
        target_dir.glob("dbt_*/run_results.json"),
        key=lambda p: p.stat().st_mtime,
    )
    if not runs:
        raise RuntimeError(f"no dbt run results under {target_dir}")
    statements = 0
    with duckdb.connect(str(database)) as con:
        con.execute("pragma disable_progress_bar")
        # dbt's connections get the pseudonym function from the profile's plugin; so does
        # the floor's, at connection time as in dbt, so the replayed SQL is the same.
        register_pseudonym_function(con, get_settings().pseudonym_key)
        for run_results in runs:
            invocation = run_results.parent
            results = json.loads(run_results.read_text())["results"]
            manifest = json.loads((invocation / "manifest.json").read_text())
            for result in results:
                node = manifest["nodes"].get(result["unique_id"])
                if node is None:
                    continue
                if node["resource_type"] == "seed":
                    seed = DBT_PROJECT_DIR / node["original_file_path"]
                    name = quote_identifier(node["name"] + "__floor")
                    con.execute(
                        f"create or replace table reference.{name} as "
                        f"select * from read_csv({quote_literal(str(seed))})"
                    )
                    statements += 1
                    continue
                if node["resource_type"] == "test":
                    found = list((invocation / "run").rglob(Path(node["path"]).name))
                    compiled = found[0] if found else None
                else:
                    compiled = (
                        invocation / "run" / node["package_name"] / node["original_file_path"]
                    )
                if compiled is None or not compiled.exists() or compiled.suffix != ".sql":
                    continue
                sql = compiled.read_text()
                if node["resource_type"] == "model":
                    table = f'"{node["schema"]}"."{node["alias"] or node["name"]}'
                    kind = "view" if node["config"].get("materialized") == "view" else "table"
                    con.execute(f'drop {kind} if exists {table}__dbt_tmp"')
                    # An incremental model built from scratch creates its table directly.
                    incremental = node["config"].get("materialized") == "incremental"
                    if incremental and "__dbt_tmp" not in sql:
                        con.execute(f'drop table if exists {table}"')
                try:
                    con.execute(sql)
                except duckdb.Error as exc:
                    raise RuntimeError(f"replaying {compiled} failed: {exc}") from exc
                statements += 1
    return statements


def main(stage: str, result_file: str) -> None:
    """Runs ``stage`` and writes its result as JSON."""
    from orchestration.settings import get_settings

    settings = get_settings()
    started = time.perf_counter()
    detail: dict = {}
    rows = 0
    if stage == "ingest":
        detail = _materialize(intake=True)
        rows = _raw_rows(settings.warehouse_path)
    elif stage == "transform":
        detail = _materialize(intake=False)
        rows = _raw_rows(settings.warehouse_path)
    elif stage == "everything":
        detail = _everything()
        rows = _raw_rows(settings.warehouse_path)
    elif stage == "validation":
        from orchestration.bench.quality import measure_validation

        bench = measure_validation(
            settings.warehouse_path, {"memory_limit": settings.duckdb_memory_limit}
        )
        rows = sum(r.rows for r in bench.relations)
        detail = {
            "gx_seconds": bench.gx_seconds,
            "floor_seconds": bench.floor_seconds,
            "relations": len(bench.relations),
        }
    elif stage == "linkage":
        from dataclasses import asdict, is_dataclass

        from orchestration.bench.linkage import measure_linkage

        measured = measure_linkage(settings.data_dir)
        detail = asdict(measured) if is_dataclass(measured) else dict(measured)
        rows = int(detail.get("records") or 0)
    elif stage in ("ingest-files", "ingest-files-bad"):
        from dataclasses import asdict

        from orchestration.bench.ingest import bench_ingest, with_bad_rows

        landing = settings.landing_dir
        if stage == "ingest-files-bad":
            landing = with_bad_rows(landing, settings.data_dir / "bench_landing_bad", share=0.01)
        result = bench_ingest(landing, settings.data_dir / "bench_ingest", repeats=3)
        shutil.rmtree(settings.data_dir / "bench_ingest", ignore_errors=True)
        shutil.rmtree(settings.data_dir / "bench_landing_bad", ignore_errors=True)
        rows = sum(t.rows for t in result.timings)
        detail = {
            "ours_seconds": result.ours_seconds,
            "duckdb_seconds": result.duckdb_seconds,
            "rows_quarantined": sum(t.rows_quarantined for t in result.timings),
            "datasets": [asdict(t) for t in result.timings],
        }
    elif stage == "ingest-floor":
        rows = ingest_floor(settings.landing_dir, settings.data_dir / "floor_ingest.duckdb")
    elif stage == "dbt-floor":
        detail = {
            "statements": dbt_floor(
                settings.data_dir / "floor" / "warehouse.duckdb", settings.dbt_target_dir
            )
        }
        rows = _raw_rows(settings.warehouse_path)
    elif stage == "load":
        from orchestration.definitions import defs
        from orchestration.project import ensure_manifest

        ensure_manifest()
        began = time.perf_counter()
        graph = defs().resolve_asset_graph()
        detail = {"assets": len(graph.get_all_asset_keys()), "seconds": time.perf_counter() - began}
    else:
        raise SystemExit(f"unknown stage {stage!r}")
    detail["inner_seconds"] = time.perf_counter() - started
    Path(result_file).write_text(json.dumps({"rows": rows, "detail": detail}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
