"""Building the portal: read everything (:func:`load_portal`), render every page
(:func:`render_pages`) and swap the new folder into place (:func:`write_portal`)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from orchestration.contracts import Contract, load_contracts
from orchestration.portal import load
from orchestration.portal.dataset_page import dataset_body
from orchestration.portal.datasets import build_datasets
from orchestration.portal.html import page, when
from orchestration.portal.lineage import Resolver, build_graph
from orchestration.portal.model import (
    AgreementInfo,
    CheckResult,
    ColumnEdge,
    Portal,
    Quality,
    RunScore,
)
from orchestration.portal.pages import (
    agreements_body,
    department_body,
    index_body,
    quality_body,
    quality_index_body,
)
from orchestration.portal.urls import DATASETS, DEPARTMENTS, QUALITY, Links, page_path
from orchestration.privacy import AgreementError, load_agreement
from orchestration.project import AGREEMENTS_DIR, CONTRACTS_DIR, dbt_project
from orchestration.publish import SNAPSHOT_NAME
from orchestration.settings import get_settings

PORTAL_DIR = "portal"
KEEP_RUNS = 10
"""Runs of each dataset shown in its chart and history."""

DEFAULT_GOVERNANCE_OWNER = "team:data-governance"


@dataclass(frozen=True)
class PortalInputs:
    """What the portal is built from, besides the warehouse.

    Attributes:
        data_dir: The data directory (``<data dir>/catalogue`` and the published snapshot).
        manifest_path: The dbt manifest, or None to go without dbt's documentation.
        contracts: The data contracts in force.
        agreements_dir: Folder of the sharing agreements.
        asset_parents: Upstream asset keys (``a/b``) of each asset key (the Dagster asset
            graph), added to the dbt lineage.
        today: The date agreements are judged against (in force or expired).
        governance_owner: Owner shown for governance tables.
        keep_runs: Runs per dataset in the quality charts and histories.
        exclude_assets: Asset keys left out of the lineage (the portal's own).
    """

    data_dir: Path
    manifest_path: Path | None
    contracts: Sequence[Contract]
    agreements_dir: Path
    asset_parents: Mapping[str, Sequence[str]] = field(default_factory=dict)
    today: date = field(default_factory=lambda: datetime.now(UTC).date())
    governance_owner: str = DEFAULT_GOVERNANCE_OWNER
    keep_runs: int = KEEP_RUNS
    exclude_assets: tuple[str, ...] = ("governance/portal",)


@dataclass(frozen=True)
class PortalResult:
    """A written portal: its folder, index page and the number of pages per kind."""

    path: Path
    index: Path
    pages: dict[str, int]


def _agreements(folder: Path, today: date) -> tuple[AgreementInfo, ...]:
    found = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        try:
            a = load_agreement(path)
        except AgreementError as exc:
            found.append(AgreementInfo(path.stem, error=str(exc).replace(str(path), path.name)))
            continue
        found.append(
            AgreementInfo(
                a.id,
                a.consumer,
                a.purpose,
                a.legal_basis,
                a.expires,
                a.expires >= today,
                {k: tuple(v) for k, v in sorted(a.datasets.items())},
            )
        )
    return tuple(found)


def _runs(history: Sequence[CheckResult]) -> tuple[RunScore, ...]:
    by_run: dict[str, list[CheckResult]] = {}
    for r in history:
        by_run.setdefault(r.run_id, []).append(r)
    runs = []
    for run, results in by_run.items():
        scores = [r.score for r in results if r.score is not None]
        has_error = len(scores) < len(results)
        runs.append(
            RunScore(
                run,
                min(r.validated_at for r in results),
                None if has_error or not scores else sum(scores) / len(scores),
                len(results),
                sum(1 for r in results if r.success),
            )
        )
    return tuple(sorted(runs, key=lambda r: (r.validated_at, r.run_id)))


def _quality(
    con: duckdb.DuckDBPyConnection, resolve: Resolver, keep_runs: int
) -> dict[str, Quality]:
    latest, history = load.quality_results(con, keep_runs)
    card = load.scorecard(con)
    declared = load.declarations(con)
    names = {r.dataset for r in latest} | {s.dataset for s in card} | set(declared)
    found = {}
    for name in sorted(names):
        dataset = resolve.dataset(name)
        if dataset is None:
            continue
        mine = [r for r in history if r.dataset == name]
        checks: dict[str, list[CheckResult]] = {}
        for r in mine:
            checks.setdefault(r.check_name, []).append(r)
        ok, markdown = declared.get(name, (None, None))
        found[dataset] = Quality(
            latest=tuple(r for r in latest if r.dataset == name),
            history={k: tuple(v) for k, v in sorted(checks.items())},
            runs=_runs(mine),
            scorecard=tuple(s for s in card if s.dataset == name),
            declaration=markdown,
            blocking_checks_passed=ok,
        )
    return found


def load_portal(con: duckdb.DuckDBPyConnection, inputs: PortalInputs) -> Portal:
    """Reads everything the portal shows from the warehouse and ``inputs``."""
    manifest: dict = {}
    if inputs.manifest_path is not None and inputs.manifest_path.exists():
        manifest = json.loads(inputs.manifest_path.read_text(encoding="utf-8"))
    tables = load.warehouse_tables(con)
    ids = sorted(f"{s}.{t}" for s, t in tables)
    resolve = Resolver(ids)
    nodes, parents = build_graph(
        manifest, inputs.asset_parents, inputs.contracts, ids, inputs.exclude_assets
    )
    edges = load.column_lineage(con)
    if edges is not None:
        edges = [
            ColumnEdge(
                resolve.dataset(e.dataset) or e.dataset,
                e.column,
                resolve.dataset(e.upstream_dataset) or e.upstream_dataset,
                e.upstream_column,
                e.kind,
            )
            for e in edges
        ]
    published, publication = load.published_snapshot(inputs.data_dir / "published" / SNAPSHOT_NAME)
    datasets = build_datasets(
        tables, manifest, inputs.contracts, parents, edges, published, inputs.governance_owner
    )
    maturity = load.maturity(con)
    catalogue = load.catalogue(con, inputs.data_dir / "catalogue")
    if catalogue is not None:
        catalogue = [
            dataclasses.replace(e, dataset=resolve.dataset(e.dataset) or e.dataset)
            for e in catalogue
        ]
    departments = {c.department for c in inputs.contracts} | set(maturity or {})
    return Portal(
        datasets=datasets,
        nodes=nodes,
        parents=parents,
        column_lineage=tuple(edges) if edges is not None else None,
        quality=_quality(con, resolve, inputs.keep_runs),
        agreements=_agreements(inputs.agreements_dir, inputs.today),
        departments=tuple(sorted(departments)),
        maturity=maturity,
        catalogue=tuple(catalogue) if catalogue is not None else None,
        publication=publication,
        today=inputs.today,
    )


def _footer(portal: Portal) -> str:
    published = (
        f"published snapshot from run {portal.publication[0]} at {when(portal.publication[1])}"
        if portal.publication
        else "nothing published yet"
    )
    return (
        f"Common Ground governance portal: static files, no network. {published}; "
        f"agreements judged on {portal.today.isoformat()}."
    )


def render_pages(portal: Portal) -> dict[str, str]:
    """Every page of the portal, by path relative to its top folder."""
    ids = list(portal.datasets)
    top, below = Links(ids, 0), Links(ids, 1)
    footer = _footer(portal)
    pages = {
        "index.html": page(
            "Datasets, lineage and quality", index_body(portal, top), "", footer, script=True
        ),
        "agreements.html": page("Sharing agreements", agreements_body(portal, top), "", footer),
        f"{QUALITY}/index.html": page(
            "Quality results", quality_index_body(portal, below), below.root, footer
        ),
    }
    for d in portal.datasets.values():
        pages[page_path(DATASETS, d.id)] = page(
            d.id, dataset_body(d, portal, below), below.root, footer
        )
        quality = portal.quality.get(d.id)
        if quality is not None:
            pages[page_path(QUALITY, d.id)] = page(
                f"Quality results: {d.id}", quality_body(d, quality, below), below.root, footer
            )
    for name in portal.departments:
        pages[page_path(DEPARTMENTS, name)] = page(
            f"Department: {name}", department_body(name, portal, below), below.root, footer
        )
    return dict(sorted(pages.items()))


def write_portal(pages: Mapping[str, str], out_dir: Path) -> None:
    """Writes ``pages`` into a new folder beside ``out_dir`` and swaps it into place, so a
    reader never sees half a portal; the previous one is removed afterwards."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.with_name(f".{out_dir.name}.{os.getpid()}.new")
    old = out_dir.with_name(f".{out_dir.name}.{os.getpid()}.old")
    for leftover in (staging, old):
        shutil.rmtree(leftover, ignore_errors=True)
    for relative, text in pages.items():
        path = staging / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if out_dir.exists():
        os.replace(out_dir, old)
    os.replace(staging, out_dir)
    shutil.rmtree(old, ignore_errors=True)


def build_portal(
    data_dir: Path | None = None,
    out_dir: Path | None = None,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
    contracts: Sequence[Contract] | None = None,
    manifest_path: Path | None = None,
    agreements_dir: Path | None = None,
    asset_parents: Mapping[str, Sequence[str]] | None = None,
    today: date | None = None,
    governance_owner: str = DEFAULT_GOVERNANCE_OWNER,
) -> PortalResult:
    """Builds the governance portal from the warehouse into ``<data dir>/portal``.

    Args:
        data_dir: The data directory (default: the settings').
        out_dir: Where to write the portal (default ``<data dir>/portal``).
        con: A warehouse connection; without one the warehouse is opened read-only.
        contracts: The contracts (default: every contract under expectations/contracts).
        manifest_path: The dbt manifest (default: the dbt project's).
        agreements_dir: The sharing agreements (default: expectations/agreements).
        asset_parents: Upstream asset keys of each asset key, from the Dagster asset graph.
        today: The date agreements are judged against (default: today, UTC).
        governance_owner: Owner shown for the governance tables.

    Returns:
        Where the portal was written and how many pages of each kind.
    """
    data_dir = Path(data_dir) if data_dir is not None else get_settings().data_dir
    out_dir = Path(out_dir) if out_dir is not None else data_dir / PORTAL_DIR
    inputs = PortalInputs(
        data_dir=data_dir,
        manifest_path=manifest_path if manifest_path is not None else dbt_project().manifest_path,
        contracts=list(contracts) if contracts is not None else load_contracts(CONTRACTS_DIR),
        agreements_dir=agreements_dir if agreements_dir is not None else AGREEMENTS_DIR,
        asset_parents=asset_parents or {},
        governance_owner=governance_owner,
        **({"today": today} if today is not None else {}),
    )
    if con is None:
        with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as own:
            portal = load_portal(own, inputs)
    else:
        portal = load_portal(con, inputs)
    pages = render_pages(portal)
    write_portal(pages, out_dir)
    counts: dict[str, int] = {}
    for relative in pages:
        kind = relative.split("/", 1)[0] if "/" in relative else "top"
        counts[kind] = counts.get(kind, 0) + 1
    return PortalResult(out_dir, out_dir / "index.html", counts)
