"""Sharing agreements as data, and the extracts they permit.

An agreement (``expectations/agreements/<id>.yaml``) names a consumer, the purpose and
legal basis of the sharing, the datasets (``schema.table`` of conformed tables or marts)
and the columns of each that may be shared, and the date it expires. An extract holds only
the permitted columns, and its pseudonymous keys are keyed again per agreement (keyed
HMAC-SHA256 under a key derived from the platform key and the agreement id), so the
extracts of two consumers cannot be joined with each other or with the platform's tables.
Every extract is logged in ``governance.sharing_log``.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import yaml

from orchestration import governance
from orchestration.privacy.pseudonyms import pseudonym
from orchestration.sql import quote_identifier, quote_literal

SHAREABLE_SCHEMAS = re.compile(r"^(conformed|marts_[a-z0-9_]+)$")
"""Schemas an agreement may draw on: never raw, staging, intermediate or linkage."""

PSEUDONYM_COLUMN = re.compile(r"^(.*_)?(person|property|pupil)_key$")
"""Columns holding platform pseudonyms, which every extract keys again per agreement."""


class AgreementError(ValueError):
    """A sharing agreement is unknown, expired or invalid; the message says which and why."""


@dataclass(frozen=True)
class Agreement:
    """One sharing agreement.

    Attributes:
        id: The agreement's identifier (its file name without ``.yaml``).
        consumer: Who receives the extract.
        purpose: What the consumer may use it for.
        legal_basis: The law that permits the sharing.
        expires: Last day the agreement is in force.
        datasets: Permitted columns by dataset (``schema.table``).
        path: The agreement's file.
    """

    id: str
    consumer: str
    purpose: str
    legal_basis: str
    expires: date
    datasets: dict[str, list[str]] = field(default_factory=dict)
    path: Path | None = None


@dataclass
class ExtractResult:
    """What one extract wrote: its id, folder, and rows per dataset."""

    extract_id: str
    directory: Path
    rows: dict[str, int]


def load_agreement(path: Path) -> Agreement:
    """Reads and validates one agreement file.

    Raises:
        AgreementError: A field is missing or malformed, naming the file and field.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise AgreementError(f"{path}: not valid YAML ({exc})") from exc
    for name in ("consumer", "purpose", "legal_basis", "expires", "datasets"):
        if not raw.get(name):
            raise AgreementError(f"{path}: field '{name}' is required")
    expires = raw["expires"]
    if not isinstance(expires, date):
        try:
            expires = date.fromisoformat(str(expires))
        except ValueError as exc:
            raise AgreementError(f"{path}: 'expires' must be a date (yyyy-mm-dd)") from exc
    datasets = raw["datasets"]
    if not isinstance(datasets, dict):
        raise AgreementError(f"{path}: 'datasets' must map schema.table to a list of columns")
    for dataset, columns in datasets.items():
        schema, _, table = str(dataset).partition(".")
        if not table or not SHAREABLE_SCHEMAS.match(schema):
            raise AgreementError(
                f"{path}: dataset '{dataset}' is not shareable: name a conformed table or a "
                "mart as schema.table (conformed.* or marts_*.*)"
            )
        if not isinstance(columns, list) or not columns:
            raise AgreementError(f"{path}: dataset '{dataset}' must list its permitted columns")
    return Agreement(
        id=path.stem,
        consumer=str(raw["consumer"]),
        purpose=str(raw["purpose"]).strip(),
        legal_basis=str(raw["legal_basis"]).strip(),
        expires=expires,
        datasets={str(k): [str(c) for c in v] for k, v in datasets.items()},
        path=path,
    )


def find_agreement(agreements_dir: Path, agreement_id: str, today: date) -> Agreement:
    """The agreement named ``agreement_id``, if it exists and is in force on ``today``.

    Raises:
        AgreementError: The agreement is unknown (the message lists the known ones) or
            expired (the message gives the expiry date).
    """
    known = sorted(p.stem for p in agreements_dir.glob("*.yaml"))
    if agreement_id not in known:
        raise AgreementError(
            f"unknown sharing agreement '{agreement_id}': nothing is shared without one. "
            f"Known agreements: {', '.join(known) or 'none'} (in {agreements_dir})."
        )
    agreement = load_agreement(agreements_dir / f"{agreement_id}.yaml")
    if agreement.expires < today:
        raise AgreementError(
            f"sharing agreement '{agreement_id}' with {agreement.consumer} expired on "
            f"{agreement.expires.isoformat()}: nothing is shared under it. Renew the "
            "agreement (a new expiry date, approved by the data owners) to share again."
        )
    return agreement


def agreement_key(platform_key: str, agreement_id: str) -> str:
    """The key of an agreement's pseudonyms, derived from the platform key."""
    return pseudonym(platform_key, "agreement", agreement_id)


def _table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    return [
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        ).fetchall()
    ]


def write_extract(
    con: duckdb.DuckDBPyConnection,
    agreement: Agreement,
    platform_key: str,
    extracts_dir: Path,
) -> ExtractResult:
    """Writes an agreement's extract (one Parquet file per dataset) and logs it.

    Args:
        con: A connection to the warehouse (writable: the extract is logged in it).
        agreement: An agreement in force (see :func:`find_agreement`).
        platform_key: The platform's pseudonymisation key.
        extracts_dir: Folder under which ``<agreement>/<extract id>/`` is written.

    Raises:
        AgreementError: A permitted dataset or column does not exist in the warehouse.
    """
    for dataset, columns in agreement.datasets.items():
        schema, table = dataset.split(".", 1)
        present = _table_columns(con, schema, table)
        if not present:
            raise AgreementError(f"agreement '{agreement.id}': dataset '{dataset}' does not exist")
        missing = [c for c in columns if c not in present]
        if missing:
            raise AgreementError(
                f"agreement '{agreement.id}': dataset '{dataset}' has no column(s) {missing}"
            )
    extract_id = uuid.uuid4().hex[:12]
    directory = extracts_dir / agreement.id / extract_id
    directory.mkdir(parents=True, exist_ok=True)
    key = agreement_key(platform_key, agreement.id)
    rows: dict[str, int] = {}
    mappings: list[str] = []
    governance.ensure(con, "sharing_log")
    for dataset, columns in agreement.datasets.items():
        schema, table = dataset.split(".", 1)
        source = f"{quote_identifier(schema)}.{quote_identifier(table)}"
        selected, joins = [], []
        for column in columns:
            quoted = quote_identifier(column)
            if PSEUDONYM_COLUMN.match(column):
                alias = f"m{len(joins)}"
                mapping = _rekey(con, source, column, key)
                mappings.append(mapping)
                joins.append(f"left join {mapping} as {alias} on {alias}.original = s.{quoted}")
                selected.append(f"{alias}.rekeyed as {quoted}")
            else:
                selected.append(f"s.{quoted}")
        path = directory / f"{dataset}.parquet"
        query = f"select {', '.join(selected)} from {source} as s {' '.join(joins)}"
        con.execute(f"copy ({query}) to {quote_literal(str(path))} (format parquet)").complete()
        rows[dataset] = con.execute(f"select count(*) from {source}").fetchall()[0][0]
        con.execute(
            "insert into governance.sharing_log (extract_id, agreement_id, consumer, purpose, "
            "legal_basis, expires, dataset, columns, rows, path) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                extract_id,
                agreement.id,
                agreement.consumer,
                agreement.purpose,
                agreement.legal_basis,
                agreement.expires,
                dataset,
                ",".join(columns),
                rows[dataset],
                str(path),
            ],
        ).complete()
    for mapping in mappings:
        con.execute(f"drop table if exists {mapping}").complete()
    return ExtractResult(extract_id=extract_id, directory=directory, rows=rows)


def _rekey(con: duckdb.DuckDBPyConnection, source: str, column: str, key: str) -> str:
    """A temporary table mapping a column's platform pseudonyms to the agreement's."""
    originals = [
        v
        for (v,) in con.execute(
            f"select distinct {quote_identifier(column)} from {source} "
            f"where {quote_identifier(column)} is not null"
        ).fetchall()
    ]
    name = f"_rekey_{column}_{uuid.uuid4().hex[:6]}"
    con.execute(
        f"create temp table {quote_identifier(name)} (original varchar, rekeyed varchar)"
    ).complete()
    if originals:
        con.executemany(
            f"insert into {quote_identifier(name)} values (?, ?)",
            [(v, pseudonym(key, "shared", v)) for v in originals],
        ).complete()
    return quote_identifier(name)
