"""The evidence behind each data maturity criterion, read from what the platform holds: the
contract files, the warehouse's governance tables (registry, ingestion log, quality results
and scorecard, consent exclusions, sharing log, column lineage), the raw tables and the
sharing agreements. Each function judges one criterion for one department and returns a
:class:`Finding` with the figures behind it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from orchestration.catalogue.entries import SharingAgreement
from orchestration.contracts import Contract
from orchestration.quality import delivery_freshness
from orchestration.quality.deliveries import delivery_expected

LINEAGE_TABLE = "column_lineage"
"""``governance.column_lineage``: one row per column and upstream column it is built from."""

LINEAGE_COLUMNS = {"asset", "dataset", "column_name", "upstream_asset", "upstream_dataset"}
LINEAGE_COLUMNS |= {"upstream_column"}

SHOWN = 10
"""At most this many names are listed in a finding's figures (with the total)."""


@dataclass(frozen=True)
class Finding:
    """Whether one criterion is met for one department, and the figures behind it.

    Attributes:
        met: Whether the criterion is met (a criterion that does not apply counts as met).
        detail: One sentence saying why.
        figures: The figures behind it, as JSON-ready values.
        applicable: False when the criterion does not apply to the department.
    """

    met: bool
    detail: str
    figures: dict[str, Any] = field(default_factory=dict)
    applicable: bool = True


@dataclass(frozen=True)
class DepartmentContracts:
    """A department's contract files: those that pass lint, and the errors of the others."""

    department: str
    files: tuple[Path, ...]
    valid: tuple[Contract, ...]
    invalid: dict[str, str]


def _exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ? and table_catalog = current_database()",
            [schema, table],
        ).fetchone()[0]
    )


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> set[str]:
    return {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_schema = ? "
            "and table_name = ? and table_catalog = current_database()",
            [schema, table],
        ).fetchall()
    }


def _listed(names: Sequence[str]) -> dict[str, Any]:
    return {"count": len(names), "first": sorted(names)[:SHOWN]}


def _all(parts: dict[str, bool]) -> bool:
    return bool(parts) and all(parts.values())


def contracts_present(_con, dept: DepartmentContracts, _now) -> Finding:
    """At least one contract file."""
    files = sorted(f"{p.parent.name}/{p.name}" for p in dept.files)
    return Finding(bool(files), f"{len(files)} contract file(s)", {"files": files})


def contracts_valid(_con, dept: DepartmentContracts, _now) -> Finding:
    """Every contract passes lint."""
    total = len(dept.files)
    figures = {"valid": len(dept.valid), "total": total, "errors": dept.invalid}
    if dept.invalid:
        return Finding(False, f"{len(dept.invalid)} of {total} contract(s) fail lint", figures)
    return Finding(True, f"all {total} contract(s) pass lint", figures)


def owners_named(_con, dept: DepartmentContracts, _now) -> Finding:
    """Every valid contract names an owner's e-mail address and its team."""
    owners, missing = {}, []
    for c in dept.valid:
        team = c.document.get("team")
        team_name = team.get("name") if isinstance(team, dict) else None
        owners[c.id] = {"owner": c.owner, "team": team_name}
        if "@" not in c.owner or not team_name:
            missing.append(c.id)
    figures = {"owners": owners, "without_owner_or_team": missing}
    if missing or not dept.valid:
        return Finding(False, f"{len(missing)} contract(s) name no owner e-mail or team", figures)
    return Finding(True, "every contract names an owner and a team", figures)


def data_delivered(con, dept: DepartmentContracts, now: datetime) -> Finding:
    """A delivery has been loaded, and one for every dataset whose first is due (a dataset
    whose contract's SLA does not yet expect one is not counted against it)."""
    loaded: dict[str, dict[str, Any]] = {}
    has_log = _exists(con, "governance", "ingestion_log")
    for c in dept.valid:
        files, last = 0, None
        if has_log:
            files, last = con.execute(
                "select count(*), max(loaded_at) from governance.ingestion_log "
                "where department = ? and dataset = ? and status = 'loaded'",
                [c.department, c.dataset],
            ).fetchone()
        due = bool(files) or delivery_expected(con, c, now)
        loaded[c.dataset] = {"files_loaded": files, "last_loaded_at": _iso(last), "due": due}
    missing = sorted(d for d, f in loaded.items() if f["due"] and not f["files_loaded"])
    figures = {"datasets": loaded, "due_but_never_delivered": missing}
    if not any(f["files_loaded"] for f in loaded.values()):
        return Finding(False, "no delivery has been loaded", figures)
    if missing:
        return Finding(False, f"no delivery loaded for {', '.join(missing)}", figures)
    return Finding(True, "every dataset due a delivery has had one loaded", figures)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def contracts_current(con, dept: DepartmentContracts, _now) -> Finding:
    """Active, the warehouse built under the current version, delivered data holds every
    contracted column."""
    registry: dict[str, tuple] = {}
    if _exists(con, "governance", "contracts"):
        registry = {
            r[0]: r[1:]
            for r in con.execute(
                "select contract_id, version, contract_sha256 from governance.contracts"
            ).fetchall()
        }
    figures: dict[str, Any] = {}
    stale = []
    for c in dept.valid:
        version, digest = registry.get(c.id, (None, None))
        present = _columns(con, "raw", c.raw_table)
        missing = [col.name for col in c.columns if col.name not in present]
        current = {
            "status": c.status,
            "contract_version": c.version,
            "warehouse_version": version,
            "same_file": digest == hashlib.sha256(c.path.read_bytes()).hexdigest(),
            "raw_columns_missing": missing if present else "no raw table",
        }
        figures[c.id] = current
        built_under_it = version == c.version and current["same_file"]
        if c.status != "active" or not built_under_it or not present or missing:
            stale.append(c.id)
    if stale or not dept.valid:
        return Finding(False, f"not current: {', '.join(stale) or 'no valid contract'}", figures)
    return Finding(True, "every contract is active and the delivered data matches it", figures)


def checks_defined(con, dept: DepartmentContracts, _now) -> Finding:
    """Every contract defines quality rules and they have results."""
    has_results = _exists(con, "governance", "quality_results")
    figures: dict[str, Any] = {}
    lacking = []
    for c in dept.valid:
        results = 0
        if has_results:
            results = con.execute(
                "select count(*) from governance.quality_results where dataset = ?",
                [f"raw.{c.raw_table}"],
            ).fetchone()[0]
        figures[c.id] = {"rules": len(c.quality), "results": results}
        if not c.quality or not results:
            lacking.append(c.id)
    if lacking or not dept.valid:
        return Finding(False, f"no rules or no results: {', '.join(lacking) or '-'}", figures)
    return Finding(True, "every contract's rules are defined and have been run", figures)


def _latest_results(con, datasets: list[str]) -> list[tuple]:
    if not datasets or not _exists(con, "governance", "quality_results"):
        return []
    return con.execute(
        "select dataset, check_name, severity, success from governance.quality_results "
        "where dataset in (select unnest(?::varchar[])) qualify row_number() over ("
        "partition by dataset, check_name order by validated_at desc) = 1",
        [datasets],
    ).fetchall()


def blocking_checks_pass(con, dept: DepartmentContracts, _now) -> Finding:
    """The latest result of every ERROR check on the department's raw tables passed."""
    latest = _latest_results(con, [f"raw.{c.raw_table}" for c in dept.valid])
    blocking = [r for r in latest if r[2] == "ERROR"]
    failed = [f"{r[0]} :: {r[1]}" for r in blocking if not r[3]]
    figures = {"blocking_checks": len(blocking), "failed": failed}
    if not blocking:
        return Finding(False, "no blocking check has a result", figures)
    if failed:
        return Finding(False, f"{len(failed)} of {len(blocking)} blocking checks fail", figures)
    return Finding(True, f"all {len(blocking)} blocking checks pass", figures)


def quality_targets_met(con, dept: DepartmentContracts, _now) -> Finding:
    """Every scorecard dimension of the department's raw tables meets its target."""
    rows = []
    if _exists(con, "governance", "quality_scorecard"):
        rows = con.execute(
            "select dataset, dimension, score, target, met from governance.quality_scorecard "
            "where dataset in (select unnest(?::varchar[])) order by dataset, dimension",
            [[f"raw.{c.raw_table}" for c in dept.valid]],
        ).fetchall()
    missed = [
        f"{d} {dim}: {score if score is None else round(score, 2)} < "
        f"{'all checks pass' if target is None else target}"
        for d, dim, score, target, met in rows
        if not met
    ]
    figures = {"dimensions": len(rows), "met": len(rows) - len(missed), "not_met": missed}
    if not rows:
        return Finding(False, "no scorecard for the department's deliveries", figures)
    if missed:
        return Finding(False, f"{len(missed)} of {len(rows)} dimensions below target", figures)
    return Finding(True, f"all {len(rows)} scorecard dimensions meet their targets", figures)


def deliveries_on_time(con, dept: DepartmentContracts, now: datetime) -> Finding:
    """Every dataset's latest delivery is within its contract's SLA (datasets whose first
    delivery is not yet due are not judged, as the delivery checks do not judge them)."""
    judged = {
        c.dataset: delivery_freshness(con, c, now)
        for c in dept.valid
        if delivery_expected(con, c, now)
    }
    figures = {
        dataset: {"on_time": o.success, "observed": o.observed_value}
        for dataset, o in judged.items()
    }
    figures["not_yet_due"] = sorted({c.dataset for c in dept.valid} - set(judged))
    late = sorted(d for d, o in judged.items() if not o.success)
    if late or not judged:
        return Finding(False, f"late or never delivered: {', '.join(late) or '-'}", figures)
    return Finding(True, "every latest delivery is within its SLA", figures)


def _traced(con, schema: str, table: str) -> set[str]:
    """Columns of ``schema.table`` that have a lineage row (by dataset or asset key)."""
    return {
        r[0]
        for r in con.execute(
            "select distinct column_name from governance.column_lineage "
            "where dataset = ? or asset = ?",
            [f"{schema}.{table}", f"{schema}/{table}"],
        ).fetchall()
    }


def lineage_complete(con, dept: DepartmentContracts, _now) -> Finding:
    """Every delivered column is traced from its delivered header into the raw table, and
    every column of the department's staging models is traced to what it is made from."""
    if not _exists(con, "governance", LINEAGE_TABLE):
        return Finding(False, "governance.column_lineage does not exist", {"table": False})
    lacking = sorted(LINEAGE_COLUMNS - _columns(con, "governance", LINEAGE_TABLE))
    if lacking:
        return Finding(
            False, "governance.column_lineage lacks columns", {"missing_columns": lacking}
        )
    untraced: list[str] = []
    counts = {"raw_columns": 0, "staging_columns": 0}
    for c in dept.valid:
        traced = _traced(con, "raw", c.raw_table)
        counts["raw_columns"] += len(c.columns)
        untraced += [f"raw.{c.raw_table}.{col.name}" for col in c.columns if col.name not in traced]
        staging = f"stg_{c.raw_table}"
        columns = _columns(con, "staging", staging)
        traced = _traced(con, "staging", staging)
        counts["staging_columns"] += len(columns)
        untraced += [f"staging.{staging}.{name}" for name in sorted(columns - traced)]
    total = sum(counts.values())
    figures: dict[str, Any] = {"table": True, **counts, "untraced": _listed(untraced)}
    if untraced or not total:
        return Finding(False, f"{len(untraced)} of {total} columns have no lineage", figures)
    return Finding(True, f"all {total} raw and staging columns are traced", figures)


def opt_outs_applied(
    con, dept: DepartmentContracts, _now, health: Collection[tuple[str, str]]
) -> Finding:
    """The opt-out was applied after the latest delivery of each health dataset."""
    mine = sorted(d for dep, d in health if dep == dept.department)
    if not mine:
        return Finding(True, "delivers no health data", {"health_datasets": []}, False)
    applied = None
    if _exists(con, "governance", "consent_exclusions"):
        applied = con.execute(
            "select max(recorded_at) from governance.consent_exclusions"
        ).fetchone()[0]
    figures: dict[str, Any] = {"health_datasets": mine, "opt_out_last_applied": _iso(applied)}
    behind = []
    for dataset in mine:
        last = None
        if _exists(con, "governance", "ingestion_log"):
            last = con.execute(
                "select max(loaded_at) from governance.ingestion_log "
                "where department = ? and dataset = ? and status = 'loaded'",
                [dept.department, dataset],
            ).fetchone()[0]
        figures[dataset] = {"last_delivery": _iso(last)}
        if last is not None and (applied is None or applied < last):
            behind.append(dataset)
    if behind:
        return Finding(False, f"opt-out not applied since delivery: {', '.join(behind)}", figures)
    return Finding(True, "the opt-out was applied after every health delivery", figures)


def sharing_under_agreements(
    con,
    dept: DepartmentContracts,
    _now,
    agreements: Sequence[SharingAgreement],
    departments_of: Callable[[str], Collection[str]],
) -> Finding:
    """Every extract of the department's data was made under an agreement in force, with
    only the columns it permits."""
    by_id = {a.id: a for a in agreements}
    covering = sorted(
        a.id for a in agreements if any(dept.department in departments_of(d) for d in a.datasets)
    )
    extracts = []
    if _exists(con, "governance", "sharing_log"):
        extracts = [
            r
            for r in con.execute(
                "select extract_id, agreement_id, dataset, columns, extracted_at "
                "from governance.sharing_log order by extracted_at"
            ).fetchall()
            if dept.department in departments_of(r[2])
        ]
    breaches = []
    for extract_id, agreement_id, dataset, columns, extracted_at in extracts:
        agreement = by_id.get(agreement_id)
        permitted = set(agreement.datasets.get(dataset, ())) if agreement else set()
        shared = {c for c in (columns or "").split(",") if c}
        if agreement is None:
            breaches.append(f"{extract_id}: no agreement {agreement_id}")
        elif extracted_at is not None and extracted_at.date() > agreement.expires:
            breaches.append(f"{extract_id}: {agreement_id} expired {agreement.expires}")
        elif not permitted or not shared <= permitted:
            breaches.append(f"{extract_id}: {dataset} columns not permitted by {agreement_id}")
    figures = {
        "agreements": {
            i: {"consumer": by_id[i].consumer, "expires": by_id[i].expires.isoformat()}
            for i in covering
        },
        "extracted_datasets": len(extracts),
        "breaches": breaches,
    }
    if not covering and not extracts:
        return Finding(True, "no agreement covers its data; nothing shared", figures, False)
    if breaches:
        return Finding(False, f"{len(breaches)} extracted dataset(s) break an agreement", figures)
    if not extracts:
        return Finding(
            True, f"{len(covering)} agreement(s) cover its data; no extract yet", figures
        )
    return Finding(
        True, f"{len(extracts)} extracted dataset(s), all under agreements in force", figures
    )
