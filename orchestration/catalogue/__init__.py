"""The catalogue and data maturity: governance people can see what is published and how
mature each department's data is, from evidence the platform holds.

- :mod:`~orchestration.catalogue.lineage`: the tables of the published snapshot, and the
  contracts upstream of each (dbt's manifest walked to its sources).
- :mod:`~orchestration.catalogue.vocabulary`: the UK Cross-Government Metadata Exchange
  Model's controlled values, and how contract classifications and delivery frequencies map
  onto them.
- :mod:`~orchestration.catalogue.entries`: one entry (a DCAT Dataset of the model) per
  published table, every required field derived or a :class:`CatalogueError`
  (:mod:`~orchestration.catalogue.errors`) naming the dataset and field.
- :mod:`~orchestration.catalogue.output`: the JSON Schema check
  (``uk_metadata_exchange.schema.json``), the JSON and JSON-LD files and
  ``governance.catalogue``.
- :mod:`~orchestration.catalogue.maturity` and :mod:`~orchestration.catalogue.evidence`:
  the maturity levels and their criteria (defined once, in ``CRITERIA``), each judged from
  the warehouse, the contracts and the sharing agreements, and ``governance.data_maturity``.
"""

from orchestration.catalogue.entries import (
    PLATFORM_STEWARD,
    CatalogueContext,
    ContactPoint,
    SharingAgreement,
    build_entry,
)
from orchestration.catalogue.errors import CatalogueError
from orchestration.catalogue.evidence import DepartmentContracts, Finding
from orchestration.catalogue.lineage import (
    ColumnInfo,
    ManifestLineage,
    PublishedTable,
    published_catalogue_tables,
    read_manifest,
    snapshot_columns,
)
from orchestration.catalogue.maturity import (
    CRITERIA,
    LEVELS,
    Criterion,
    CriterionResult,
    DepartmentMaturity,
    MaturityInputs,
    assess_maturity,
    department_contracts,
    level_of,
    record_maturity,
)
from orchestration.catalogue.output import (
    INDEX_FILE,
    JSONLD_CONTEXT,
    JSONLD_FILE,
    SCHEMA_PATH,
    CatalogueFiles,
    build_catalogue,
    entry_schema,
    jsonld_document,
    record_catalogue,
    validate_entry,
    write_catalogue_files,
)
from orchestration.catalogue.vocabulary import (
    ACCESS_RIGHTS,
    HANDLING,
    SECURITY_CLASSIFICATIONS,
    UPDATE_FREQUENCIES,
    Handling,
    update_frequency,
)

__all__ = [
    "ACCESS_RIGHTS",
    "CRITERIA",
    "HANDLING",
    "INDEX_FILE",
    "JSONLD_CONTEXT",
    "JSONLD_FILE",
    "LEVELS",
    "PLATFORM_STEWARD",
    "SCHEMA_PATH",
    "SECURITY_CLASSIFICATIONS",
    "UPDATE_FREQUENCIES",
    "CatalogueContext",
    "CatalogueError",
    "CatalogueFiles",
    "ColumnInfo",
    "ContactPoint",
    "Criterion",
    "CriterionResult",
    "DepartmentContracts",
    "DepartmentMaturity",
    "Finding",
    "Handling",
    "ManifestLineage",
    "MaturityInputs",
    "PublishedTable",
    "SharingAgreement",
    "assess_maturity",
    "build_catalogue",
    "build_entry",
    "department_contracts",
    "entry_schema",
    "jsonld_document",
    "level_of",
    "published_catalogue_tables",
    "read_manifest",
    "record_catalogue",
    "record_maturity",
    "snapshot_columns",
    "update_frequency",
    "validate_entry",
    "write_catalogue_files",
]
