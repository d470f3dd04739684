"""``governance/catalogue`` (an entry per published table in the UK Cross-Government Metadata
Exchange Model) and ``governance/data_maturity`` (an evidence-based maturity level per
department), downstream of the published snapshot and the quality scorecard."""

from __future__ import annotations

import json
import logging

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration import catalogue, governance, privacy
from orchestration.contracts import load_contracts
from orchestration.defs.governance.column_lineage import COLUMN_LINEAGE_KEY
from orchestration.defs.governance.keys import (
    CONSENT_KEY,
    CONTRACTS_KEY,
    INGESTION_LOG_KEY,
    QUALITY_SCORECARD_KEY,
    governance_asset,
)
from orchestration.defs.publish.assets import PUBLISHED_KEY
from orchestration.project import AGREEMENTS_DIR, CONTRACTS_DIR, ensure_manifest
from orchestration.publish import SNAPSHOT_NAME, read_publication
from orchestration.quality import read_scorecard
from orchestration.settings import get_settings

CATALOGUE_KEY = dg.AssetKey(["governance", "catalogue"])
DATA_MATURITY_KEY = dg.AssetKey(["governance", "data_maturity"])

CATALOGUE_DIR = "catalogue"
"""Folder under the data directory holding the catalogue's JSON and JSON-LD files."""

CATALOGUE_TITLE = "Common Ground: datasets of the published analytics snapshot"

logger = logging.getLogger(__name__)


def load_agreements() -> list[privacy.Agreement]:
    """Every valid sharing agreement under ``expectations/agreements`` (an invalid file is
    logged and left out: nothing can be shared under it)."""
    agreements = []
    for path in sorted(AGREEMENTS_DIR.glob("*.yaml")):
        try:
            agreements.append(privacy.load_agreement(path))
        except privacy.AgreementError as exc:
            logger.warning("sharing agreement left out of the catalogue: %s", exc)
    return agreements


def _markdown(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(v).replace("|", "\\|") for v in r) + " |" for r in rows]
    return "\n".join(lines)


@governance_asset(
    key=CATALOGUE_KEY,
    deps=[PUBLISHED_KEY, QUALITY_SCORECARD_KEY],
    kinds={"duckdb", "json"},
    description=(
        "The catalogue: one entry per table of the published snapshot in the UK "
        "Cross-Government Metadata Exchange Model (DCAT 3), derived from its contracts "
        "(classification, access, licence, owner, frequency), its dbt documentation and the "
        "quality scorecard, each checked against the model's required fields. Written to "
        "governance.catalogue and <data dir>/catalogue/ (entries/*.json, index.json, "
        "catalogue.jsonld). A required field that cannot be derived fails the asset, naming "
        "the dataset and the field."
    ),
    metadata=governance.asset_metadata("catalogue"),
)
def catalogue_entries(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource
) -> dg.MaterializeResult:
    """Writes the catalogue of the current published snapshot."""
    settings = get_settings()
    contracts = load_contracts()
    publication = read_publication(settings.published_dir)
    if publication is None:
        raise dg.Failure(description="Nothing is published yet, so there is nothing to catalogue.")
    columns = catalogue.snapshot_columns(settings.published_dir / SNAPSHOT_NAME)
    with warehouse.get_connection() as con:
        try:
            tables = catalogue.published_catalogue_tables(ensure_manifest(), contracts, columns)
            ctx = catalogue.CatalogueContext(
                contracts={c.id: c for c in contracts},
                published_at=publication[1],
                scorecard=read_scorecard(con),
                snapshot_columns=columns,
                agreements=load_agreements(),
            )
            entries = catalogue.build_catalogue(tables, ctx)
        except catalogue.CatalogueError as exc:
            raise dg.Failure(
                description=str(exc), metadata={"dataset": exc.dataset, "field": exc.field}
            ) from exc
        files = catalogue.write_catalogue_files(
            settings.data_dir / CATALOGUE_DIR, entries, CATALOGUE_TITLE
        )
        catalogue.record_catalogue(con, entries, context.run.run_id)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(entries),
            "index": dg.MetadataValue.path(str(files.index)),
            "jsonld": dg.MetadataValue.path(str(files.jsonld)),
            "entries": dg.MetadataValue.md(
                _markdown(
                    ["dataset", "title", "access", "classification", "frequency", "contact"],
                    [
                        [
                            e["dataset"],
                            e["title"],
                            e["accessRights"],
                            " / ".join(
                                filter(None, [e["securityClassification"], e.get("handlingCaveat")])
                            ),
                            e["updateFrequency"],
                            e["contactPoint"]["email"],
                        ]
                        for e in entries
                    ],
                )
            ),
        }
    )


@governance_asset(
    key=DATA_MATURITY_KEY,
    deps=[
        PUBLISHED_KEY,
        QUALITY_SCORECARD_KEY,
        CONTRACTS_KEY,
        INGESTION_LOG_KEY,
        CONSENT_KEY,
        COLUMN_LINEAGE_KEY,
    ],
    description=(
        "Evidence-based data maturity per department: the level (1 Beginning to 5 Mastering) "
        "whose criteria, and all lower levels', the department meets, judged from what the "
        "platform holds: contracts present, valid, owned and current; data delivered, checked "
        "and on time; quality targets met; lineage complete; opt-outs and sharing agreements "
        "applied. Appended to governance.data_maturity with every criterion's evidence."
    ),
    metadata=governance.asset_metadata("data_maturity"),
)
def data_maturity(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource
) -> dg.MaterializeResult:
    """Assesses every department's data maturity and records the evidence."""
    contracts = load_contracts()
    lineage = catalogue.ManifestLineage(catalogue.read_manifest(ensure_manifest()), contracts)
    inputs = catalogue.MaturityInputs(
        contracts_dir=CONTRACTS_DIR,
        agreements=load_agreements(),
        health_datasets=privacy.health_datasets(contracts),
        departments_of=lineage.departments_of,
    )
    with warehouse.get_connection() as con:
        assessments = catalogue.assess_maturity(con, inputs)
        catalogue.record_maturity(con, assessments, context.run.run_id)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(assessments),
            "levels": dg.MetadataValue.md(
                _markdown(
                    ["department", "level", "criteria met", "next level needs"],
                    [
                        [
                            a.department,
                            f"{a.level} {catalogue.LEVELS.get(a.level, '')}",
                            f"{a.criteria_met}/{a.criteria_total}",
                            "; ".join(a.evidence()["next_level_needs"]) or "-",
                        ]
                        for a in assessments
                    ],
                )
            ),
            "evidence": dg.MetadataValue.json(
                json.loads(json.dumps([a.evidence() for a in assessments], default=str))
            ),
        }
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The catalogue and the data maturity assessment."""
    return dg.Definitions(assets=[catalogue_entries, data_maturity])
