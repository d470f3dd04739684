"""Catalogue entries: one Dataset per published table, in the UK Cross-Government Metadata
Exchange Model, each field derived from the platform's own records.

How each required field is derived (a field that cannot be derived raises
:class:`CatalogueError` naming the dataset and the field; nothing is made up):

- ``identifier``: ``urn:<tenant>:dataset:<schema>.<table>``, the tenant being the one the
  contracts name (their ODCS ``tenant``), like the contracts' own ``urn:<tenant>:...`` ids.
- ``title``: dbt ``meta.title``, else the layer and the table's name in words.
- ``description``: the dbt description, or the governance table's definition.
- ``type``: ``dataset``.
- ``version`` and ``modified``: the publication that holds the table (the snapshot's
  ``governance.publication``): its time (UTC, to the second) and its date.
- ``securityClassification``, ``accessRights`` and ``licence``: the most restrictive
  classification of the contracts upstream, mapped by :data:`~.vocabulary.HANDLING`
  (capped at ``official`` for a model whose dbt ``meta.disclosure_control`` is
  ``applied``: disclosure-controlled aggregates hold no personal data); governance tables
  (aggregates and the platform's own records) are ``official``; code lists (seeds) are
  ``public``.
- ``contactPoint``: the owner and team of the contracts the table conforms (its primary
  sources) when they name one owner; else the owner the dbt model declares (``meta.owner``,
  named by ``meta.owner_name``, by the team of a contract with that owner, or by its
  mailbox); governance tables: the platform's steward.
- ``creator``: the departments of the primary sources (else of all sources), as
  ``urn:<tenant>:<department>``; the platform itself for governance tables and code lists.
- ``publisher``: the platform, ``urn:<tenant>``.
- ``updateFrequency``: the most frequent delivery among the contracts upstream (the table
  is rebuilt whenever any of them delivers), mapped to the Dublin Core frequency terms;
  every contract for governance tables (rebuilt by every run); irregular for code lists.
- ``distribution``: the table in the published DuckDB snapshot, plus a Parquet extract for
  each sharing agreement in force that names the table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

from orchestration.catalogue.errors import CatalogueError
from orchestration.catalogue.lineage import GOVERNANCE, SEED, PublishedTable
from orchestration.catalogue.vocabulary import (
    DATA_SHARE_AGREEMENT,
    DATASET_TYPE,
    DISTRIBUTION_TYPE,
    DUCKDB_MEDIA_TYPE,
    HANDLING,
    IRREGULAR,
    PARQUET_MEDIA_TYPE,
    highest_classification,
    update_frequency,
)
from orchestration.contracts import Contract
from orchestration.quality import ScorecardRow
from orchestration.standards import CLASSIFICATIONS

PLATFORM_CLASSIFICATION = "official"
"""Classification of the governance tables: aggregates and the platform's own records (no
record-level data, which is why ``orchestration.publish`` publishes them)."""

CODE_LIST_CLASSIFICATION = "public"
"""Classification of code lists (dbt seeds): published reference standards."""

DISCLOSURE_CONTROLLED_CLASSIFICATION = "official"
"""Highest classification of a model under statistical disclosure control."""

_URN_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class ContactPoint:
    """The model's ContactPoint: a team's name and e-mail address."""

    contact_name: str
    email: str

    def as_entry(self) -> dict[str, str]:
        """``{"contactName": ..., "email": ...}``."""
        return {"contactName": self.contact_name, "email": self.email}


PLATFORM_STEWARD = ContactPoint(
    "Common Ground data governance team", "data-governance@commonground.example.gov.uk"
)
"""Contact for the tables the platform writes itself (governance.*), which no contract or
dbt model owns: the team that owns the governance assets (``team:data-governance``)."""


class SharingAgreement(Protocol):
    """What the catalogue reads of a sharing agreement (``orchestration.privacy.Agreement``)."""

    id: str
    consumer: str
    purpose: str
    legal_basis: str
    expires: date
    datasets: dict[str, list[str]]


@dataclass(frozen=True)
class CatalogueContext:
    """Everything an entry is derived from besides the table itself.

    Attributes:
        contracts: Every contract, by id.
        published_at: When the snapshot holding the tables was published (UTC, naive).
        scorecard: The current GDQF scorecard (``governance.quality_scorecard``).
        snapshot_columns: Column types in the snapshot by ``schema.table`` (``[(name,
            type)]``); documented types are used where a table is missing.
        agreements: Sharing agreements (those in force on ``today`` become distributions).
        today: The date agreements are judged on (default: today, UTC).
        platform_contact: Contact for the platform's own tables.
    """

    contracts: Mapping[str, Contract]
    published_at: datetime
    scorecard: Sequence[ScorecardRow] = ()
    snapshot_columns: Mapping[str, Sequence[tuple[str, str]]] = field(default_factory=dict)
    agreements: Sequence[SharingAgreement] = ()
    today: date | None = None
    platform_contact: ContactPoint = PLATFORM_STEWARD


def _tenant(dataset: str, contracts: Sequence[Contract]) -> str:
    missing = sorted(c.id for c in contracts if not c.document.get("tenant"))
    if not contracts or missing:
        raise CatalogueError(
            dataset,
            "publisher",
            f"no ODCS tenant in {', '.join(missing) if missing else 'any contract: none exists'}",
        )
    tenants = sorted({str(c.document["tenant"]) for c in contracts})
    if len(tenants) > 1:
        raise CatalogueError(
            dataset, "publisher", f"the contracts name several tenants: {', '.join(tenants)}"
        )
    if not _URN_PART.match(tenants[0]):
        raise CatalogueError(dataset, "publisher", f"tenant {tenants[0]!r} is not a safe name")
    return tenants[0]


def _layer_label(schema: str) -> str:
    if schema.startswith("marts_"):
        return f"{schema.removeprefix('marts_').replace('_', ' ').capitalize()} mart"
    return {"reference": "Reference code list"}.get(schema, schema.replace("_", " ").capitalize())


def _classification(table: PublishedTable, sources: Sequence[Contract]) -> str:
    if table.kind == GOVERNANCE:
        return PLATFORM_CLASSIFICATION
    if not sources:
        if table.kind == SEED:
            return CODE_LIST_CLASSIFICATION
        raise CatalogueError(
            table.dataset,
            "securityClassification",
            "no contract feeds it, so no classification can be read from one",
        )
    highest = highest_classification([c.classification for c in sources])
    if table.meta.get("disclosure_control") == "applied":
        return min(highest, DISCLOSURE_CONTROLLED_CLASSIFICATION, key=CLASSIFICATIONS.index)
    return highest


def _frequency(table: PublishedTable, sources: Sequence[Contract], every: Sequence[Contract]):
    if table.kind == SEED and not sources:
        return IRREGULAR
    feeding = every if table.kind == GOVERNANCE else sources
    if not feeding:
        raise CatalogueError(
            table.dataset, "updateFrequency", "no contract feeds it, so no delivery frequency"
        )
    days = min(c.frequency_days for c in feeding)
    try:
        return update_frequency(days)
    except ValueError as exc:
        raise CatalogueError(table.dataset, "updateFrequency", str(exc)) from exc


def _mailbox_team(email: str) -> str:
    """A team name from an organisational mailbox: ``warm-homes@...`` -> ``Warm homes team``."""
    local = re.sub(r"[-_.+]+", " ", email.split("@", 1)[0]).strip()
    return f"{local.capitalize()} team" if local else ""


def _contact(
    table: PublishedTable,
    primary: Sequence[Contract],
    sources: Sequence[Contract],
    platform: ContactPoint,
) -> ContactPoint:
    owners = {c.owner for c in primary}
    if len(owners) == 1:
        contract = primary[0]
        return ContactPoint(contract.team, contract.owner)
    declared = str(table.meta.get("owner") or "")
    if "@" in declared:
        teams = sorted({c.team for c in sources if c.owner == declared})
        name = str(table.meta.get("owner_name") or "") or (teams[0] if teams else "")
        return ContactPoint(name or _mailbox_team(declared), declared)
    if table.kind == GOVERNANCE:
        return platform
    raise CatalogueError(
        table.dataset,
        "contactPoint",
        "its contracts name several owners or none, and the dbt model declares no "
        "meta.owner e-mail",
    )


def _quality(table: PublishedTable, sources: Sequence[Contract], card: Sequence[ScorecardRow]):
    def rows(dataset: str) -> list[ScorecardRow]:
        return [r for r in card if r.dataset == dataset]

    own = [
        {
            "dimension": r.dimension,
            "score": r.score,
            "target": r.target,
            "met": r.met,
            "checks": r.checks,
            "checksPassed": r.checks_passed,
        }
        for r in rows(table.quality_dataset)
    ]
    deliveries = [
        {
            "dataset": f"raw.{c.raw_table}",
            "dimensions": len(rows(f"raw.{c.raw_table}")),
            "dimensionsMet": sum(r.met for r in rows(f"raw.{c.raw_table}")),
        }
        for c in sources
    ]
    return {"scorecard": own, "deliveries": deliveries}


def _distributions(
    table: PublishedTable, identifier: str, handling, modified: str, ctx: CatalogueContext
) -> list[dict[str, Any]]:
    found = [
        {
            "identifier": f"{identifier}:snapshot",
            "type": DISTRIBUTION_TYPE,
            "title": f"{table.dataset} in the published analytics snapshot",
            "description": (
                f"The table {table.dataset} of the read-only DuckDB snapshot analysts query "
                "(published/analytics.duckdb), replaced whole by each run whose blocking "
                "quality checks pass."
            ),
            "licence": handling.licence,
            "accessRights": handling.access_rights,
            "mediaType": DUCKDB_MEDIA_TYPE,
            "modified": modified,
        }
    ]
    today = ctx.today or datetime.now(UTC).date()
    for agreement in sorted(ctx.agreements, key=lambda a: a.id):
        columns = agreement.datasets.get(table.dataset)
        if not columns or agreement.expires < today:
            continue
        found.append(
            {
                "identifier": f"{identifier}:agreement:{agreement.id}",
                "type": DISTRIBUTION_TYPE,
                "title": f"Extract for {agreement.consumer} (agreement {agreement.id})",
                "description": (
                    f"Parquet extract of {', '.join(columns)} under sharing agreement "
                    f"{agreement.id}, pseudonymous keys keyed again for the consumer. "
                    f"Purpose: {agreement.purpose} Legal basis: {agreement.legal_basis}. "
                    f"In force until {agreement.expires.isoformat()}."
                ),
                "licence": DATA_SHARE_AGREEMENT,
                "accessRights": "NON-PUBLIC",
                "mediaType": PARQUET_MEDIA_TYPE,
                "modified": modified,
            }
        )
    return found


def _columns(table: PublishedTable, snapshot: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    """The table's columns as published (the snapshot's, in its order, where it is known),
    each with its type and documented description."""
    documented = {c.name: c for c in table.columns}
    names = [name for name, _ in snapshot] or list(documented)
    types = dict(snapshot)
    return [
        {
            "name": name,
            "datatype": types.get(name) or (documented[name].type if name in documented else ""),
            "description": documented[name].description if name in documented else "",
        }
        for name in names
    ]


def build_entry(table: PublishedTable, ctx: CatalogueContext) -> dict[str, Any]:
    """The catalogue entry (a Dataset of the model, as JSON) of one published table.

    Raises:
        CatalogueError: A required field cannot be derived; names the dataset and field.
    """
    every = sorted(ctx.contracts.values(), key=lambda c: c.id)
    try:
        sources = [ctx.contracts[i] for i in table.sources]
        primary = [ctx.contracts[i] for i in table.primary_sources]
    except KeyError as exc:
        raise CatalogueError(table.dataset, "creator", f"unknown contract {exc}") from exc
    tenant = _tenant(table.dataset, sources or every)
    identifier = f"urn:{tenant}:dataset:{table.dataset}"
    if not table.description:
        raise CatalogueError(table.dataset, "description", "the table is not documented")
    handling = HANDLING[_classification(table, sources)]
    modified = ctx.published_at.date().isoformat()
    makers = primary or sources
    creator = sorted({f"urn:{tenant}:{c.department}" for c in makers}) or [f"urn:{tenant}"]
    if table.kind not in (GOVERNANCE, SEED) and not makers:
        raise CatalogueError(table.dataset, "creator", "no contract feeds it")
    keywords = {table.schema, *(c.department for c in sources)}
    if table.meta.get("mission"):
        keywords.add(str(table.meta["mission"]))
    entry: dict[str, Any] = {
        "identifier": identifier,
        "type": DATASET_TYPE,
        "title": str(table.meta.get("title") or "")
        or f"{_layer_label(table.schema)}: {table.name.replace('_', ' ')}",
        "description": table.description,
        "version": ctx.published_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "modified": modified,
        "licence": handling.licence,
        "accessRights": handling.access_rights,
        "securityClassification": handling.security_classification,
        "contactPoint": _contact(table, primary, sources, ctx.platform_contact).as_entry(),
        "creator": creator,
        "publisher": f"urn:{tenant}",
        "updateFrequency": _frequency(table, sources, every),
        "keyword": sorted(keywords),
        "distribution": _distributions(table, identifier, handling, modified, ctx),
        "dataset": table.dataset,
        "conformsTo": [c.id for c in sources],
        "columns": _columns(table, ctx.snapshot_columns.get(table.dataset, ())),
        "sourceContracts": [
            {
                "id": c.id,
                "version": c.version,
                "department": c.department,
                "dataset": c.dataset,
                "classification": c.classification,
                "owner": c.owner,
                "legalBasis": c.legal_basis,
            }
            for c in sources
        ],
        "quality": _quality(table, sources, ctx.scorecard),
    }
    if handling.handling_caveat:
        entry["handlingCaveat"] = handling.handling_caveat
    return entry
