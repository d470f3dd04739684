"""What the portal shows, as plain data: datasets, lineage, quality, agreements, departments.

:mod:`~orchestration.portal.load` fills these from the warehouse, the dbt manifest, the
contracts, the sharing agreements and the published snapshot; the page modules render them.
Nothing here reads a file or a database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from orchestration.quality.results import ScorecardRow

NOT_CLASSIFIED = ""
"""The classification of a column or dataset that no contract or lineage classifies."""


@dataclass(frozen=True)
class ContractRef:
    """The facts of one data contract that a page shows."""

    id: str
    version: str
    status: str
    title: str
    department: str
    dataset: str
    raw_table: str
    owner: str
    team: str
    classification: str
    description: str
    purpose: str
    limitations: str
    legal_basis: str
    frequency_days: float
    latency_days: float
    landing_path: str


@dataclass(frozen=True)
class ColumnInfo:
    """One column of a dataset.

    Attributes:
        name: Column name.
        data_type: Type in the warehouse (or the contract's logical type).
        description: What it holds (dbt docs, the contract, or the warehouse comment).
        classification: public, official, personal or special_category; empty when unknown.
        classification_source: Where the classification comes from, in words.
        comment: The warehouse's own ``COMMENT`` on the column, when it has one.
    """

    name: str
    data_type: str
    description: str
    classification: str = NOT_CLASSIFIED
    classification_source: str = ""
    comment: str = ""


@dataclass(frozen=True)
class Disclosure:
    """Statistical disclosure control of a dataset.

    Attributes:
        applied: Whether small counts are suppressed in it.
        threshold: Counts from 1 to ``threshold - 1`` are suppressed (when applied).
        columns: The count columns suppressed.
        note: What applies, in words.
    """

    applied: bool
    threshold: int | None
    columns: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class DatasetInfo:
    """One table of the warehouse, as its page shows it.

    Attributes:
        id: ``schema.table``: the page's name.
        schema: Warehouse schema.
        name: Table name.
        layer: raw, staging, intermediate, linkage, conformed, marts, reference or
            governance.
        quality_name: ``layer.table``, the name quality results use.
        description: What one row is.
        owner: Who owns it.
        department: Department it comes from ("" when shared by several).
        classification: Highest classification of what it is built from.
        classification_source: Where that classification comes from.
        contract: Its own contract (raw and staging tables), else None.
        upstream_contracts: The contracts of the deliveries it is built from.
        columns: Its columns in table order.
        rows: Rows in the warehouse (None when unknown).
        published: Whether the published snapshot holds it.
        publish_note: Why it is or is not published, when known.
        disclosure: Disclosure control applied to it.
    """

    id: str
    schema: str
    name: str
    layer: str
    quality_name: str
    description: str
    owner: str
    department: str
    classification: str
    classification_source: str
    contract: ContractRef | None
    upstream_contracts: tuple[ContractRef, ...]
    columns: tuple[ColumnInfo, ...]
    rows: int | None
    published: bool
    publish_note: str
    disclosure: Disclosure


@dataclass(frozen=True)
class LineageNode:
    """A node of the table-level lineage graph: a dataset, an asset or a landing folder."""

    id: str
    label: str
    kind: str
    page: str | None = None


@dataclass(frozen=True)
class ColumnEdge:
    """One column-level lineage edge (``governance.column_lineage``)."""

    dataset: str
    column: str
    upstream_dataset: str
    upstream_column: str
    kind: str


@dataclass(frozen=True)
class CheckResult:
    """One quality check's result in one run (``governance.quality_results``)."""

    dataset: str
    check_name: str
    dimension: str
    severity: str
    success: bool
    element_count: int | None
    unexpected_count: int | None
    unexpected_percent: float | None
    observed_value: str | None
    error: str | None
    run_id: str
    validated_at: datetime

    @property
    def score(self) -> float | None:
        """Share of data meeting the check, percent, as the scorecard scores it."""
        if self.error is not None:
            return None
        if self.unexpected_percent is not None:
            return max(0.0, 100.0 - self.unexpected_percent)
        return 100.0 if self.success else 0.0


@dataclass(frozen=True)
class RunScore:
    """A dataset's quality in one run: the mean score of the checks that ran."""

    run_id: str
    validated_at: datetime
    score: float | None
    checks: int
    passed: int


@dataclass(frozen=True)
class Quality:
    """Everything the portal knows about one dataset's quality.

    Attributes:
        latest: The latest result of each check.
        history: Each check's results, newest first, up to the runs kept.
        runs: The dataset's score per run, oldest first, up to the runs kept.
        scorecard: The current scorecard rows.
        declaration: The declaration as Markdown, when one is written.
        blocking_checks_passed: Whether the declaration says every ERROR check passed.
    """

    latest: tuple[CheckResult, ...] = ()
    history: dict[str, tuple[CheckResult, ...]] = field(default_factory=dict)
    runs: tuple[RunScore, ...] = ()
    scorecard: tuple[ScorecardRow, ...] = ()
    declaration: str | None = None
    blocking_checks_passed: bool | None = None


@dataclass(frozen=True)
class AgreementInfo:
    """A sharing agreement as the portal shows it (``error`` set when it cannot be read)."""

    id: str
    consumer: str = ""
    purpose: str = ""
    legal_basis: str = ""
    expires: date | None = None
    in_force: bool = False
    datasets: dict[str, tuple[str, ...]] = field(default_factory=dict)
    error: str = ""


@dataclass(frozen=True)
class Evidence:
    """One criterion of a maturity assessment: its name, the level that requires it, whether
    it applies to the department and is met, and the finding behind it."""

    criterion: str
    level: str
    met: bool
    detail: str
    applicable: bool = True


@dataclass(frozen=True)
class Maturity:
    """A department's latest data maturity assessment (``governance.data_maturity``)."""

    department: str
    level: str
    criteria_met: int | None
    criteria_total: int | None
    evidence: tuple[Evidence, ...]
    assessed_at: datetime | None
    run_id: str
    next_level_needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class CatalogueEntry:
    """A catalogue entry (``governance.catalogue``), with its file when one is written.

    ``file`` is relative to ``<data dir>/catalogue``.
    """

    identifier: str
    title: str
    dataset: str
    entry: str
    modified: str
    file: str | None


@dataclass(frozen=True)
class Portal:
    """Everything the portal renders.

    Attributes:
        datasets: Every dataset, by id, in id order.
        nodes: Every lineage node, by id (datasets included).
        parents: Upstream node ids of each node.
        column_lineage: Column-level lineage edges, or None when no table records them.
        quality: Quality by dataset id.
        agreements: Every sharing agreement, by id order.
        departments: Every department, in name order.
        maturity: Latest maturity assessment by department, or None when none is recorded.
        catalogue: Catalogue entries, or None when no catalogue is recorded.
        publication: Run id and time of the published snapshot, when there is one.
        today: The date agreements are judged against.
    """

    datasets: dict[str, DatasetInfo]
    nodes: dict[str, LineageNode]
    parents: dict[str, tuple[str, ...]]
    column_lineage: tuple[ColumnEdge, ...] | None
    quality: dict[str, Quality]
    agreements: tuple[AgreementInfo, ...]
    departments: tuple[str, ...]
    maturity: dict[str, Maturity] | None
    catalogue: tuple[CatalogueEntry, ...] | None
    publication: tuple[str, datetime] | None
    today: date

    def children(self) -> dict[str, tuple[str, ...]]:
        """Downstream node ids of each node."""
        found: dict[str, set[str]] = {}
        for node, ups in self.parents.items():
            for up in ups:
                found.setdefault(up, set()).add(node)
        return {k: tuple(sorted(v)) for k, v in sorted(found.items())}

    def agreements_for(self, dataset_id: str) -> list[AgreementInfo]:
        """The agreements that permit sharing columns of ``dataset_id``."""
        return [a for a in self.agreements if dataset_id in a.datasets]
