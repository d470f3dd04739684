"""The landing-zone sensor: a delivery starts a run that flows it through to the marts.

Every tick lists each contract's landing folder. A file is *ready* once its size and
modification time are the same on two ticks in a row (so a file still being written is not
picked up) and its name is not a ``.part``/``.tmp`` upload. For the ready files of a tick
the sensor requests one run, keyed by the files' SHA-256 (one file: its digest), that
materializes their datasets' ingest assets and everything downstream of them (staging,
conformed, marts, governance, publishing). Dagster never launches two runs with the same
key, so the same bytes are never sent twice; a changed file under the same name has a new
digest and is a new delivery.

Files whose bytes ``governance.ingestion_log`` has already dealt with (loaded by
``commonground run``, say, before the sensor was switched on) are skipped, on the first tick
and on every other. While any run that writes the warehouse is queued or in flight (from
this sensor, a schedule, the UI or the CLI), ready files wait for the next tick, because
DuckDB allows one writer at a time; so do they while the warehouse cannot be read.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.contracts import Contract
from orchestration.defs.resources import WAREHOUSE_POOL, WAREHOUSE_WRITE_TAGS
from orchestration.ingest import known_deliveries, landing_files, landing_hashes
from orchestration.ingest import landing as lz
from orchestration.lease import WarehouseBusyError, warehouse_lease
from orchestration.settings import Settings, get_settings
from orchestration.state import DigestCache

SENSOR_NAME = "landing_zone_sensor"
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


@dataclass(frozen=True)
class ReadyFile:
    """A landing file ready to be ingested."""

    raw_table: str
    path: str
    sha256: str


def scan_landing(
    contracts: list[Contract],
    landing_dir: Path,
    seen: dict[str, list],
    hashes: DigestCache | None = None,
) -> tuple[dict[str, list], list[ReadyFile]]:
    """Compares the landing zone with the last tick's view of it.

    Args:
        contracts: Every contract.
        landing_dir: The landing zone.
        seen: Last tick's ``{path: [size, mtime_ns, sha256 or None]}``.
        hashes: The landing files' remembered digests, shared with the runs
            (:func:`~orchestration.ingest.landing_hashes`); None hashes every ready file.

    Returns:
        This tick's view, and the files that became ready since the last tick.
    """
    state: dict[str, list] = {}
    ready: list[ReadyFile] = []
    for contract in contracts:
        for path in landing_files(contract, landing_dir):
            if path.is_symlink() or lz.is_in_progress(path):
                continue
            rel = str(path.relative_to(landing_dir))
            try:
                stamp = lz.FileStamp.of(path)
            except FileNotFoundError:
                continue
            before = seen.get(rel)
            if before and before[:2] == [stamp.size, stamp.mtime_ns]:
                sha = before[2] or (lz.file_sha256(path) if hashes is None else hashes.sha256(path))
                if before[2] is None:
                    ready.append(ReadyFile(contract.raw_table, rel, sha))
                state[rel] = [stamp.size, stamp.mtime_ns, sha]
            else:
                state[rel] = [stamp.size, stamp.mtime_ns, None]
    return state, ready


def writes_warehouse(run: dg.DagsterRun) -> bool:
    """Whether a run writes the warehouse: it carries the writer tag or a warehouse step."""
    tag, value = next(iter(WAREHOUSE_WRITE_TAGS.items()))
    if run.tags.get(tag) == value:
        return True
    concurrency = run.run_op_concurrency
    return bool(concurrency and WAREHOUSE_POOL in (concurrency.all_pools or ()))


def warehouse_writers_in_flight(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    """Queued or running runs that write the warehouse, whoever started them."""
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=IN_FLIGHT))
    return [r for r in runs if writes_warehouse(r)]


def drop_known(
    settings: Settings, contracts: list[Contract], waiting: list[ReadyFile]
) -> list[ReadyFile]:
    """The waiting files whose bytes the ingestion log has not dealt with yet.

    Raises:
        WarehouseBusyError: Another process is writing the warehouse now.
        duckdb.Error: The warehouse cannot be read now.
    """
    if not waiting or not settings.warehouse_path.exists():
        return waiting
    by_table = {c.raw_table: c for c in contracts}
    files = [
        (by_table[w.raw_table].department, by_table[w.raw_table].dataset, w.path, w.sha256)
        for w in waiting
        if w.raw_table in by_table
    ]
    # Read under the writer lease (without waiting for it): a run opening the warehouse for
    # writing while the sensor reads would otherwise meet DuckDB's file lock.
    with (
        warehouse_lease(settings.data_dir, wait_seconds=0, purpose="landing sensor reading"),
        duckdb.connect(str(settings.warehouse_path), read_only=True) as con,
    ):
        known = known_deliveries(con, files)
    return [w for w in waiting if w.path not in known]


def run_key(ready: list[ReadyFile]) -> str:
    """The run key of a set of ready files: the file's SHA-256, or a digest of the digests."""
    shas = sorted({r.sha256 for r in ready})
    if len(shas) == 1:
        return shas[0]
    return hashlib.sha256(":".join(shas).encode()).hexdigest()


def build_landing_sensor(
    contracts: list[Contract], job: dg.JobDefinition | dg.UnresolvedAssetJobDefinition
) -> dg.SensorDefinition:
    """The landing-zone sensor over every contract's folder."""

    @dg.sensor(
        name=SENSOR_NAME,
        job=job,
        minimum_interval_seconds=get_settings().sensor_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Watches landing/<department>/<dataset>/ and, once a new file's size is stable "
            "between two ticks, runs its ingest asset and everything downstream (run key: "
            "the file's SHA-256)."
        ),
    )
    def landing_zone_sensor(context: dg.SensorEvaluationContext):
        previous = json.loads(context.cursor) if context.cursor else {}
        seen, pending = previous.get("seen", {}), previous.get("pending", [])
        settings = get_settings()
        hashes = landing_hashes(settings.data_dir / "state", settings.landing_dir)
        state, ready = scan_landing(contracts, settings.landing_dir, seen, hashes)
        hashes.save()
        waiting = [ReadyFile(*p) for p in pending if p[1] in state] + ready

        def wait(reason: str) -> dg.SkipReason:
            context.update_cursor(
                json.dumps({"seen": state, "pending": [list(vars(w).values()) for w in waiting]})
            )
            return dg.SkipReason(reason)

        if not waiting:
            context.update_cursor(json.dumps({"seen": state, "pending": []}))
            return dg.SkipReason("no new landing files")
        in_flight = warehouse_writers_in_flight(context.instance)
        if in_flight:
            return wait(f"{len(waiting)} file(s) wait for run {in_flight[0].run_id}")
        try:
            new = drop_known(settings, contracts, waiting)
        except (WarehouseBusyError, duckdb.Error) as exc:
            first = (str(exc).strip().splitlines() or [""])[0]
            return wait(f"{len(waiting)} file(s) wait: the warehouse cannot be read ({first})")
        if not new:
            context.update_cursor(json.dumps({"seen": state, "pending": []}))
            return dg.SkipReason(
                f"{len(waiting)} file(s) already in governance.ingestion_log; nothing to run"
            )
        waiting = new
        tables = sorted({w.raw_table for w in waiting})
        roots = dg.AssetSelection.assets(*[dg.AssetKey(["raw", t]) for t in tables])
        selection = (
            roots.downstream().resolve(context.repository_def.asset_graph)
            if context.repository_def is not None
            else {dg.AssetKey(["raw", t]) for t in tables}
        )
        context.update_cursor(json.dumps({"seen": state, "pending": []}))
        return dg.RunRequest(
            run_key=run_key(waiting),
            asset_selection=sorted(selection, key=lambda k: k.to_user_string()),
            tags={
                "commonground/files": ",".join(sorted(w.path for w in waiting))[:1000],
                "commonground/datasets": ",".join(tables),
                **WAREHOUSE_WRITE_TAGS,
            },
        )

    return landing_zone_sensor
