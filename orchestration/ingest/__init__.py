"""Deliveries taken in under their contracts: landing rules, row rules, raw and quarantine.

- :mod:`~orchestration.ingest.landing`: checks on a landing file before it is read (path,
  name, size, encoding, bombs) and the byte-level row count it must reconcile with.
- :mod:`~orchestration.ingest.row_rules`: a contract's row rules as set-based SQL.
- :mod:`~orchestration.ingest.load`: one file or a dataset's files loaded into raw and
  quarantine, exactly once, with the ingestion log.
- :mod:`~orchestration.ingest.file_rules`: the delimiter and header (schema drift) checks.
- :mod:`~orchestration.ingest.readers`: one reader per delivery format (CSV, NDJSON, Parquet,
  xlsx) staging a file's rows for the load.
- :mod:`~orchestration.ingest.tables`: the raw and quarantine tables and the temporary tables.
- :mod:`~orchestration.ingest.log`: the ingestion log's rows (loaded, rejected, duplicate).
"""

from orchestration.ingest import landing, row_rules
from orchestration.ingest.file_rules import FileRejected, check_columns
from orchestration.ingest.landing import FileProblem, file_sha256, landing_hashes
from orchestration.ingest.load import ingest_dataset, ingest_file, landing_files
from orchestration.ingest.log import FileOutcome, known_deliveries
from orchestration.ingest.tables import (
    LINEAGE_COLUMNS,
    QUARANTINE_COLUMNS,
    ensure_warehouse,
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
    "known_deliveries",
    "landing_files",
    "landing_hashes",
    "quarantine_table_ddl",
    "raw_table_ddl",
    "row_rules",
]
