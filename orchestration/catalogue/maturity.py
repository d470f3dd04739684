"""Evidence-based data maturity: a level from 1 to 5 per department, computed from what the
platform holds about the department's data, never from a questionnaire.

The criteria of each level are defined once, in :data:`CRITERIA`. A department is at level
``n`` when it meets every criterion of levels 1 to ``n`` (a criterion that does not apply
to it, such as the opt-out for a department delivering no health data, counts as met).
The level names are those of the government's Data Maturity Assessment.

====== ========== ==================================================================
level  name       criteria (all of the lower levels' too)
====== ========== ==================================================================
1      Beginning  contracts present
2      Emerging   contracts pass lint; owners named; data delivered under contract
3      Learning   contracts current; quality checks defined; blocking checks pass
4      Developing quality targets met; deliveries on time
5      Mastering  lineage complete; opt-outs applied; sharing only under agreements
====== ========== ==================================================================
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from orchestration import governance
from orchestration.catalogue import evidence
from orchestration.catalogue.entries import SharingAgreement
from orchestration.catalogue.evidence import DepartmentContracts, Finding
from orchestration.contracts import ContractError, contract_paths, load_contract

LEVELS: dict[int, str] = {
    1: "Beginning",
    2: "Emerging",
    3: "Learning",
    4: "Developing",
    5: "Mastering",
}
"""The maturity levels and their names."""


@dataclass(frozen=True)
class Criterion:
    """One maturity criterion: its key, the level that requires it, and what it requires."""

    key: str
    level: int
    title: str
    requirement: str


CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        "contracts_present",
        1,
        "Contracts present",
        "The department delivers under at least one data contract "
        "(expectations/contracts/<department>/).",
    ),
    Criterion(
        "contracts_valid",
        2,
        "Contracts pass lint",
        "Every contract passes `commonground contracts lint` (the ODCS v3 schema and Common "
        "Ground's rules).",
    ),
    Criterion(
        "owners_named",
        2,
        "Owners named",
        "Every contract names its owner by e-mail address and its owning team.",
    ),
    Criterion(
        "data_delivered",
        2,
        "Data delivered under contract",
        "Deliveries have been loaded (governance.ingestion_log): one at least for every "
        "dataset whose first delivery is due by its contract's SLA.",
    ),
    Criterion(
        "contracts_current",
        3,
        "Contracts current",
        "Every contract is active; the warehouse was last built under its current version "
        "(governance.contracts holds the same version and file digest); the delivered data "
        "(the raw table) holds every column it declares.",
    ),
    Criterion(
        "checks_defined",
        3,
        "Quality checks defined",
        "Every contract defines quality rules and they have run on the delivered data "
        "(governance.quality_results).",
    ),
    Criterion(
        "blocking_checks_pass",
        3,
        "Blocking checks pass",
        "The latest result of every blocking (ERROR) check on the department's deliveries passed.",
    ),
    Criterion(
        "quality_targets_met",
        4,
        "Quality targets met",
        "Every GDQF dimension of the department's deliveries meets its target "
        "(governance.quality_scorecard).",
    ),
    Criterion(
        "deliveries_on_time",
        4,
        "Deliveries on time",
        "Every dataset's latest delivery is within its contract's SLA (delivery frequency "
        "plus latency), as the delivered_within_sla check judges it; a dataset whose first "
        "delivery is not yet due is not judged.",
    ),
    Criterion(
        "lineage_complete",
        5,
        "Lineage complete",
        "In governance.column_lineage (without that table, not met), every delivered "
        "column is traced from its delivered header into the raw table, and every column "
        "of the department's staging models to what it is made from.",
    ),
    Criterion(
        "opt_outs_applied",
        5,
        "Opt-outs applied",
        "Where the department delivers health data, the national data opt-out was applied "
        "after its latest delivery (a governance.consent_exclusions record newer than it).",
    ),
    Criterion(
        "sharing_under_agreements",
        5,
        "Sharing only under agreements",
        "Every extract of data built from the department's deliveries "
        "(governance.sharing_log) was made under an agreement in expectations/agreements/ "
        "in force that day, with only the columns it permits.",
    ),
)
"""Every criterion, by level: the one place the levels are defined."""


@dataclass(frozen=True)
class CriterionResult:
    """A criterion judged for one department."""

    criterion: Criterion
    finding: Finding

    @property
    def met(self) -> bool:
        """Met, or not applicable."""
        return self.finding.met or not self.finding.applicable

    def as_dict(self) -> dict[str, Any]:
        """The result as JSON-ready evidence."""
        c = self.criterion
        return {
            "criterion": c.key,
            "level": c.level,
            "title": c.title,
            "requirement": c.requirement,
            "applicable": self.finding.applicable,
            "met": self.met,
            "detail": self.finding.detail,
            "figures": self.finding.figures,
        }


@dataclass(frozen=True)
class DepartmentMaturity:
    """A department's maturity level and the evidence for it.

    Attributes:
        department: The department (its contracts' folder).
        level: 1 to 5: the highest level whose criteria, and all lower levels', are met.
        results: Every criterion, judged.
        assessed_at: When the evidence was read (UTC, naive).
    """

    department: str
    level: int
    results: tuple[CriterionResult, ...]
    assessed_at: datetime

    @property
    def criteria_total(self) -> int:
        """Criteria that apply to the department."""
        return sum(r.finding.applicable for r in self.results)

    @property
    def criteria_met(self) -> int:
        """Criteria that apply to the department and are met."""
        return sum(r.finding.applicable and r.finding.met for r in self.results)

    @property
    def gaps(self) -> list[CriterionResult]:
        """The unmet criteria that keep the department from the next level."""
        return [r for r in self.results if r.criterion.level == self.level + 1 and not r.met]

    def evidence(self) -> dict[str, Any]:
        """Level, counts, what stops the next level, and every criterion with its figures."""
        return {
            "department": self.department,
            "level": self.level,
            "level_name": LEVELS.get(self.level, "none"),
            "criteria_met": self.criteria_met,
            "criteria_total": self.criteria_total,
            "next_level_needs": [f"{r.criterion.title}: {r.finding.detail}" for r in self.gaps],
            "criteria": [r.as_dict() for r in self.results],
        }


def level_of(results: Sequence[CriterionResult]) -> int:
    """The highest level ``n`` such that every criterion of levels 1 to ``n`` is met."""
    level = 0
    for n in sorted(LEVELS):
        if not all(r.met for r in results if r.criterion.level <= n):
            break
        level = n
    return level


@dataclass(frozen=True)
class MaturityInputs:
    """What the assessment reads besides the warehouse.

    Attributes:
        contracts_dir: ``expectations/contracts`` (one folder per department).
        agreements: The sharing agreements (``orchestration.privacy.Agreement``).
        health_datasets: ``(department, dataset)`` the national data opt-out applies to
            (``orchestration.privacy.health_datasets``).
        departments_of: The departments whose deliveries feed a ``schema.table`` (the dbt
            lineage, ``ManifestLineage.departments_of``).
    """

    contracts_dir: Path
    agreements: Sequence[SharingAgreement] = ()
    health_datasets: Collection[tuple[str, str]] = ()
    departments_of: Callable[[str], Collection[str]] = field(default=lambda _: ())


def department_contracts(contracts_dir: Path) -> list[DepartmentContracts]:
    """Each department's contract files, linted one by one."""
    by_department: dict[str, list[Path]] = {}
    for path in contract_paths(contracts_dir):
        by_department.setdefault(path.parent.name, []).append(path)
    found = []
    for department, files in sorted(by_department.items()):
        valid, invalid = [], {}
        for path in files:
            try:
                valid.append(load_contract(path))
            except ContractError as exc:
                invalid[f"{department}/{path.name}"] = str(exc)
        found.append(DepartmentContracts(department, tuple(files), tuple(valid), invalid))
    return found


def assess_department(
    con: duckdb.DuckDBPyConnection,
    dept: DepartmentContracts,
    inputs: MaturityInputs,
    now: datetime,
) -> DepartmentMaturity:
    """Judges every criterion for one department and computes its level."""
    judges: dict[str, Callable[..., Finding]] = {
        "contracts_present": evidence.contracts_present,
        "contracts_valid": evidence.contracts_valid,
        "owners_named": evidence.owners_named,
        "data_delivered": evidence.data_delivered,
        "contracts_current": evidence.contracts_current,
        "checks_defined": evidence.checks_defined,
        "blocking_checks_pass": evidence.blocking_checks_pass,
        "quality_targets_met": evidence.quality_targets_met,
        "deliveries_on_time": evidence.deliveries_on_time,
        "lineage_complete": evidence.lineage_complete,
        "opt_outs_applied": lambda c, d, n: evidence.opt_outs_applied(
            c, d, n, inputs.health_datasets
        ),
        "sharing_under_agreements": lambda c, d, n: evidence.sharing_under_agreements(
            c, d, n, inputs.agreements, inputs.departments_of
        ),
    }
    results = tuple(
        CriterionResult(criterion, judges[criterion.key](con, dept, now)) for criterion in CRITERIA
    )
    return DepartmentMaturity(
        dept.department, level_of(results), results, now.astimezone(UTC).replace(tzinfo=None)
    )


def assess_maturity(
    con: duckdb.DuckDBPyConnection, inputs: MaturityInputs, now: datetime | None = None
) -> list[DepartmentMaturity]:
    """The maturity of every department with a contract folder, from the warehouse ``con``.

    Args:
        con: Warehouse connection (read only is enough).
        inputs: Contracts folder, agreements, health datasets and lineage.
        now: The time deliveries are judged against (default: now, UTC).
    """
    at = now or datetime.now(UTC)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return [
        assess_department(con, dept, inputs, at)
        for dept in department_contracts(inputs.contracts_dir)
    ]


def record_maturity(
    con: duckdb.DuckDBPyConnection, assessments: Sequence[DepartmentMaturity], run_id: str
) -> int:
    """Appends one row per department to ``governance.data_maturity``; returns the rows."""
    governance.ensure(con, "data_maturity")
    rows = [
        [
            a.department,
            a.level,
            a.criteria_met,
            a.criteria_total,
            json.dumps(a.evidence(), ensure_ascii=False, default=str),
            a.assessed_at,
            run_id,
        ]
        for a in assessments
    ]
    if rows:
        con.executemany(
            "insert into governance.data_maturity (department, level, criteria_met, "
            "criteria_total, evidence, assessed_at, run_id) values (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    return len(rows)
