"""Deliveries taken in under their contracts: landing rules, row rules, raw and quarantine.

- :mod:`~orchestration.ingest.landing`: checks on a landing file before it is read (path,
  name, size, encoding, bombs) and the byte-level row count it must reconcile with.
- :mod:`~orchestration.ingest.row_rules`: a contract's row rules as set-based SQL.
- :mod:`~orchestration.ingest.load`: one file or a dataset's files loaded into raw and
  quarantine, exactly once, with the ingestion log.
"""

from orchestration.ingest import landing, row_rules
from orchestration.ingest.landing import FileProblem, file_sha256
from orchestration.ingest.load import (
    LINEAGE_COLUMNS,
    QUARANTINE_COLUMNS,
    FileOutcome,
    FileRejected,
    check_columns,
    ensure_warehouse,
    ingest_dataset,
    ingest_file,
    landing_files,
    quarantine_table_ddl,
    raw_table_ddl,
)

__all__ = [
    "LINEAGE_COLUMNS",
    "QUARANTINE_COLUMNS",
    "FileOutcome",
    "FileProblem",
    "FileRejected",
    "check_columns",
    "ensure_warehouse",
    "file_sha256",
    "ingest_dataset",
    "ingest_file",
    "landing",
    "landing_files",
    "quarantine_table_ddl",
    "raw_table_ddl",
    "row_rules",
]
