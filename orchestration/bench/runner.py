"""The pipeline benchmark: every stage against plain DuckDB doing the same work.

Each stage runs in a child process (``orchestration.bench.worker``); its wall time comes
from the parent and its peak RSS from ``os.wait4`` (the child and the processes it waited
for, e.g. dbt). Floors are measured in the same run on the same files:

- ingest: DuckDB reading the same landing files into tables with its own readers (for the
  pipeline's ingest steps, and for contract-enforced ingest file by file, clean and with 1%
  of rows broken);
- dbt build: the SQL dbt executed (``target/run``) run directly in one DuckDB connection;
- end-to-end: the sum of the floors.

Besides the stages, it measures a no-change re-run, a re-run after 1% new deliveries, a run
with DuckDB ``memory_limit`` of 2 GB, and the Dagster code-location load time.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from orchestration.contracts import load_contracts
from orchestration.sql import quote_identifier, quote_literal

log = logging.getLogger(__name__)

DEMO_CITIZENS = 10_000
"""Population of ``make demo``, timed by the benchmark."""


@dataclass
class StageResult:
    """One measured stage at one population size."""

    stage: str
    citizens: int
    seconds: float
    rows: int
    peak_rss_mb: float
    floor_seconds: float | None = None
    note: str = ""
    detail: dict = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        """Source rows processed per second of wall time."""
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def ratio(self) -> float | None:
        """Wall time over the floor's (None where the stage has no floor)."""
        return self.seconds / self.floor_seconds if self.floor_seconds else None


def run_stage(
    stage: str,
    data_dir: Path,
    extra_env: dict[str, str] | None = None,
    args: list[str] | None = None,
) -> tuple[float, float, dict]:
    """Runs one worker stage in a child process.

    Returns:
        Wall seconds, peak RSS in MiB, and the worker's JSON result.

    Raises:
        RuntimeError: The stage failed; the message holds the end of its output.
    """
    result_file = data_dir / f".bench_{stage}.json"
    log_file = data_dir / f".bench_{stage}.log"
    env = {
        **os.environ,
        "COMMONGROUND_DATA_DIR": str(data_dir),
        # Each data directory gets its own dbt target folder, so the dbt floor replays
        # exactly the invocations of this benchmark's transform stage.
        "COMMONGROUND_DBT_TARGET_DIR": str(data_dir / "dbt_target"),
        **(extra_env or {}),
    }
    env.pop("DAGSTER_HOME", None)
    if stage in ("generate", "demo"):
        options = ["--no-progress"] if stage == "generate" else []
        command = [sys.executable, "-m", "orchestration.cli", stage, *options, *(args or [])]
    else:
        command = [
            sys.executable,
            "-m",
            "orchestration.bench.worker",
            stage,
            str(result_file),
            *(args or []),
        ]
    started = time.perf_counter()
    with log_file.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        tail = log_file.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"benchmark stage {stage} failed (exit {process.returncode}):\n{tail}")
    result = json.loads(result_file.read_text()) if result_file.exists() else {"rows": 0}
    if result.get("detail", {}).get("success") is False:
        raise RuntimeError(f"benchmark stage {stage} failed: {result['detail']}")
    return seconds, usage.ru_maxrss / 1024, result


def _source_rows(data_dir: Path) -> int:
    manifest = json.loads((data_dir / "ground_truth" / "manifest.json").read_text())
    files = manifest.get("files") or {}
    return sum(int(v.get("rows", 0)) for k, v in files.items() if k.startswith("landing/"))


def make_delta_deliveries(data_dir: Path, share: float = 0.01) -> int:
    """Writes a new delivery holding ``share`` of each dataset's rows under new keys.

    The rows are copies of delivered rows whose primary key gets a ``-D`` suffix, so they
    are new records to every layer. Excel deliveries are left out (one council register).

    Returns:
        Rows written.
    """
    landing = data_dir / "landing"
    written = 0
    with duckdb.connect() as con:
        for contract in load_contracts():
            if contract.format == "xlsx":
                continue
            folder = landing / contract.department / contract.dataset
            files = sorted(p for p in folder.glob("*") if "_delta" not in p.name)
            if not files:
                continue
            source_file = quote_literal(str(files[0]))
            pk = quote_identifier(contract.column(contract.primary_key[0]).physical_name)
            reader = {
                "csv": f"read_csv({source_file}, all_varchar = true)",
                "json": f"read_json({source_file}, format = 'newline_delimited')",
                "parquet": f"read_parquet({source_file})",
            }[contract.format]
            target = folder / f"{files[0].stem}_delta{files[0].suffix}"
            options = {
                "csv": "(format csv, header true)",
                "json": "(format json)",
                "parquet": "(format parquet)",
            }[contract.format]
            query = (
                f"select * replace (cast({pk} as varchar) || '-D' as {pk}) from {reader} "
                f"using sample {share * 100}% (bernoulli, 7)"
            )
            con.execute(f"copy ({query}) to {quote_literal(str(target))} {options}")
            written += con.execute(f"select count(*) from ({query})").fetchone()[0]
    return written


STEP_STAGES = (
    ("dbt build", ("dbt_",)),
    ("linkage", ("linkage__",)),
    (
        "validation",
        (
            "raw_quality_checks",
            "conformed_quality_checks",
            "marts_quality_checks",
            "delivery_freshness_checks",
        ),
    ),
    ("governance", ("governance__",)),
    ("publish", ("published__",)),
)


def _stage_of(step: str) -> str | None:
    for stage, prefixes in STEP_STAGES:
        if step.startswith(prefixes):
            return stage
    if step.startswith("raw__"):
        return "ingest"
    return None


def _step_totals(steps: dict[str, float]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for step, seconds in steps.items():
        stage = _stage_of(step)
        if stage:
            totals[stage] = totals.get(stage, 0.0) + seconds
    return totals


def run_benchmark(
    sizes: list[int],
    workdir: Path,
    seed: int = 42,
    memory_limited: bool = True,
    linkage: bool = True,
    demo: bool = True,
) -> list[StageResult]:
    """Runs every stage at every size and returns the measurements.

    Args:
        sizes: Population sizes (citizens).
        workdir: Scratch folder; one data directory per size is created under it.
        seed: Generator seed.
        memory_limited: Also run the whole pipeline with DuckDB memory_limit 2GB at the
            largest size.
        linkage: Also time the linkage alone and score it against the ground truth.
        demo: Also time ``commonground demo`` (what ``make demo`` runs after installing) at
            :data:`DEMO_CITIZENS` citizens.
    """
    results: list[StageResult] = []
    workdir.mkdir(parents=True, exist_ok=True)
    if demo:
        demo_dir = workdir / "demo"
        shutil.rmtree(demo_dir, ignore_errors=True)
        demo_dir.mkdir(parents=True)
        seconds, rss, _ = run_stage("demo", demo_dir, args=["--citizens", str(DEMO_CITIZENS)])
        results.append(
            StageResult(
                "make demo (after install)",
                DEMO_CITIZENS,
                seconds,
                _source_rows(demo_dir),
                rss,
                note="generate and the whole pipeline, one process; goal <= 120 s",
            )
        )
    run_stage("load", workdir)  # parses the dbt project once; the second load is timed
    seconds, rss, out = run_stage("load", workdir)
    results.append(
        StageResult(
            "code location load",
            0,
            seconds,
            0,
            rss,
            note=f"process incl. imports; definitions {out['detail']['seconds']:.1f} s; "
            "goal <= 5 s",
        )
    )
    for citizens in sizes:
        data_dir = workdir / f"citizens_{citizens}"
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(parents=True)
        log.info("benchmark at %d citizens in %s", citizens, data_dir)

        seconds, rss, _ = run_stage(
            "generate", data_dir, args=["--citizens", str(citizens), "--seed", str(seed)]
        )
        results.append(StageResult("generate", citizens, seconds, _source_rows(data_dir), rss))

        # The floor's own time, without the process start-up: ours is the ingest steps' time.
        _, _, floor_out = run_stage("ingest-floor", data_dir)
        floor_ingest = floor_out["detail"]["inner_seconds"]
        seconds, ingest_rss, out = run_stage("ingest", data_dir)
        raw_rows = out["rows"]
        ingest_steps = _step_totals(out["detail"]["steps"])
        results.append(
            StageResult(
                "ingest",
                citizens,
                ingest_steps.get("ingest", seconds),
                raw_rows,
                ingest_rss,
                floor_ingest,
                note=f"process wall {seconds:.1f} s incl. start-up and raw checks",
            )
        )

        for stage, label in (
            ("ingest-files", "ingest per file, clean"),
            ("ingest-files-bad", "ingest per file, 1% bad rows"),
        ):
            _, files_rss, files_out = run_stage(stage, data_dir)
            d = files_out["detail"]
            slowest = max(d["datasets"], key=lambda t: t["ours_seconds"] / t["duckdb_seconds"])
            results.append(
                StageResult(
                    label,
                    citizens,
                    d["ours_seconds"],
                    files_out["rows"],
                    files_rss,
                    d["duckdb_seconds"],
                    note=f"median of 3; {d['rows_quarantined']:,} rows quarantined; "
                    f"highest ratio {slowest['dataset']} "
                    f"{slowest['ours_seconds'] / slowest['duckdb_seconds']:.2f}x",
                    detail=d,
                )
            )

        seconds, rss, out = run_stage("transform", data_dir)
        steps = _step_totals(out["detail"]["steps"])
        for stage, value in ingest_steps.items():
            if stage != "ingest":
                steps[stage] = steps.get(stage, 0.0) + value
        floor_copy = data_dir / "floor" / "warehouse.duckdb"
        floor_copy.parent.mkdir(exist_ok=True)
        shutil.copyfile(data_dir / "warehouse.duckdb", floor_copy)
        _, _, floor_out = run_stage("dbt-floor", data_dir)
        floor_dbt = floor_out["detail"]["inner_seconds"]
        shutil.rmtree(floor_copy.parent)
        results.append(
            StageResult(
                "dbt build",
                citizens,
                steps.get("dbt build", 0.0),
                raw_rows,
                rss,
                floor_dbt,
                note=f"{floor_out['detail'].get('statements', 0)} SQL statements replayed in "
                "the floor; RSS is the transform process's",
            )
        )
        v_seconds, v_rss, v_out = run_stage("validation", data_dir)
        v = v_out["detail"]
        results.append(
            StageResult(
                "validation (GX)",
                citizens,
                v["gx_seconds"],
                v_out["rows"],
                v_rss,
                v["floor_seconds"],
                note=f"{v['relations']} relations; in the pipeline "
                f"{steps.get('validation', 0.0):.1f} s",
            )
        )
        floors = floor_ingest + floor_dbt + v["floor_seconds"]
        if linkage:
            l_seconds, l_rss, l_out = run_stage("linkage", data_dir)
            d = l_out["detail"]
            f1 = d.get("f1")
            results.append(
                StageResult(
                    "linkage (train + link)",
                    citizens,
                    float(d.get("seconds") or l_seconds),
                    l_out["rows"],
                    l_rss,
                    note=(f"F1 {f1:.3f}; " if f1 is not None else "")
                    + f"in the pipeline {steps.get('linkage', 0.0):.1f} s",
                    detail=d,
                )
            )
        for stage in ("governance", "publish"):
            results.append(
                StageResult(
                    stage,
                    citizens,
                    steps.get(stage, 0.0),
                    raw_rows,
                    rss,
                    note="step time in the pipeline run",
                )
            )

        (data_dir / "warehouse.duckdb").unlink()
        shutil.rmtree(data_dir / "state", ignore_errors=True)
        seconds, rss, out = run_stage("everything", data_dir)
        full = seconds
        e2e_steps = _step_totals(out["detail"]["steps"])
        share = e2e_steps.get("validation", 0.0) / full if full else 0.0
        results.append(
            StageResult(
                "end-to-end",
                citizens,
                seconds,
                out["rows"],
                rss,
                floors,
                note=f"validation {share:.0%} of the run (goal <= 25%); goal <= 2.0x the floors",
                detail=e2e_steps,
            )
        )

        seconds, rss, out = run_stage("everything", data_dir)
        results.append(
            StageResult(
                "no-change re-run",
                citizens,
                seconds,
                0,
                rss,
                note=f"{seconds / full:.0%} of a full run (goal <= 5%); "
                f"{out['detail'].get('skipped_reason') or 'rebuilt'}",
            )
        )

        delta = make_delta_deliveries(data_dir)
        seconds, rss, out = run_stage("everything", data_dir)
        delta_steps = _step_totals(out["detail"]["steps"])
        results.append(
            StageResult(
                "re-run after 1% new deliveries",
                citizens,
                seconds,
                delta,
                rss,
                note=f"{seconds / full:.0%} of a full run (goal <= 10%); incremental: "
                + ", ".join(f"{k} {v:.1f} s" for k, v in sorted(delta_steps.items())),
                detail=delta_steps,
            )
        )

        if memory_limited and citizens == max(sizes):
            (data_dir / "warehouse.duckdb").unlink()
            shutil.rmtree(data_dir / "state", ignore_errors=True)
            for extra_file in data_dir.glob("landing/*/*/*_delta*"):
                extra_file.unlink()
            seconds, rss, out = run_stage(
                "everything", data_dir, extra_env={"COMMONGROUND_DUCKDB_MEMORY_LIMIT": "2GB"}
            )
            results.append(
                StageResult(
                    "end-to-end, memory_limit 2GB",
                    citizens,
                    seconds,
                    out["rows"],
                    rss,
                    floors,
                    note="completed",
                )
            )
    return results


def markdown_table(results: list[StageResult]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| stage | citizens | time (s) | rows | rows/s | peak RSS (MiB) | floor (s) | ratio "
        "| note |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.stage} | {r.citizens:,} | {r.seconds:.1f} | {r.rows:,} | "
            f"{r.rows_per_second:,.0f} | {r.peak_rss_mb:,.0f} | "
            f"{'' if r.floor_seconds is None else f'{r.floor_seconds:.1f}'} | "
            f"{'' if r.ratio is None else f'{r.ratio:.2f}x'} | {r.note} |"
        )
    return "\n".join(lines)


def save(results: list[StageResult], path: Path) -> None:
    """Writes the results as JSON (with derived rows/s and ratio)."""
    payload = [
        {**asdict(r), "rows_per_second": r.rows_per_second, "ratio": r.ratio} for r in results
    ]
    path.write_text(json.dumps(payload, indent=2))
