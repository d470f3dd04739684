"""Later deliveries for a generated landing zone: new records, corrections and a late file.

Each is written next to the dataset's first delivery, in its format, from rows of that
delivery whose identifiers staging found valid (so a small delivery passes the contract's
batch checks), changed as a department's next extract would change them.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from orchestration.contracts import Contract
from orchestration.contracts.staging import staging_names
from orchestration.sql import quote_identifier, quote_literal

READERS = {
    "csv": "read_csv({}, all_varchar = true)",
    "json": "read_json({}, format = 'newline_delimited')",
    "parquet": "read_parquet({})",
}
WRITERS = {
    "csv": "(format csv, header true)",
    "json": "(format json)",
    "parquet": "(format parquet)",
}
IDENTIFIERS = {"person.nino": "nino", "person.nhs_number": "nhs_number"}


def _physical(contract: Contract, attribute: str) -> str | None:
    for column in contract.columns:
        if column.standard_attribute == attribute:
            return column.physical_name
    return None


def write_delivery(
    warehouse: Path,
    landing: Path,
    contract: Contract,
    name: str,
    *,
    share: float,
    seed: int,
    key_suffix: str = "",
    family_name_suffix: str = "",
) -> int:
    """Writes delivery ``name`` for ``contract``: a sample of its first delivery's valid rows.

    Args:
        warehouse: The warehouse whose staging says which rows are valid.
        landing: The landing zone.
        contract: The dataset's contract.
        name: File name of the new delivery (in the dataset's folder).
        share: Share of the valid rows to deliver again.
        seed: Sampling seed.
        key_suffix: Appended to the primary key: new records (empty: corrections of the
            same records).
        family_name_suffix: Appended to the family name (a correction of the name).

    Returns:
        Rows written.
    """
    folder = landing / contract.department / contract.dataset
    first = min(
        (p for p in folder.iterdir() if p.suffix == f".{contract.format}"),
        key=lambda p: (p.stat().st_mtime_ns, p.name),
    )
    key = contract.column(contract.primary_key[0]).physical_name
    staged_key = staging_names(contract)[contract.primary_key[0]]
    valid = [
        f"s.{staged}" + " is not null"
        for attribute, staged in IDENTIFIERS.items()
        if _physical(contract, attribute)
    ]
    changes = []
    if key_suffix:
        changes.append(f"cast(d.{quote_identifier(key)} as varchar) || '{key_suffix}'")
        changes[-1] += f" as {quote_identifier(key)}"
    family = _physical(contract, "person.family_name")
    if family_name_suffix and family:
        changes.append(
            f"d.{quote_identifier(family)} || '{family_name_suffix}' as {quote_identifier(family)}"
        )
    replace = f" replace ({', '.join(changes)})" if changes else ""
    reader = READERS[contract.format].format(quote_literal(str(first)))
    query = f"""
        select d.*{replace}
        from {reader} as d
        semi join wh.staging.{quote_identifier(f"stg_{contract.raw_table}")} as s
            on cast(d.{quote_identifier(key)} as varchar) = cast(s.{staged_key} as varchar)
            {"".join(f" and {v}" for v in valid)}
        using sample {share * 100}% (bernoulli, {seed})
    """
    with duckdb.connect() as con:
        con.execute(f"attach {quote_literal(str(warehouse))} as wh (read_only)")
        target = folder / name
        con.execute(f"copy ({query}) to {quote_literal(str(target))} {WRITERS[contract.format]}")
        return con.execute(f"select count(*) from ({query})").fetchone()[0]
