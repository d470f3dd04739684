"""Privacy by design: pseudonyms, consent (opt-outs), disclosure control, sharing agreements.

- :mod:`~orchestration.privacy.pseudonyms`: keyed HMAC-SHA256 pseudonyms.
- :mod:`~orchestration.privacy.opt_outs`: the national data opt-out, the consent exclusion
  log and the scan for direct identifiers in outputs.
- :mod:`~orchestration.privacy.disclosure`: primary and secondary cell suppression (the
  reference the dbt macro ``suppress_small_counts`` is tested against).
- :mod:`~orchestration.privacy.sharing`: extracts under sharing agreements.
"""

from orchestration.privacy.disclosure import THRESHOLD, SuppressedTable, recoverable_cells, suppress
from orchestration.privacy.opt_outs import (
    HEALTH_CLASSIFICATION,
    OPT_OUT_LIST,
    OPT_OUT_TABLE,
    count_opted_out_rows,
    excluded_person_records_sql,
    health_datasets,
    record_exclusions,
    scan_for_identifiers,
)
from orchestration.privacy.pseudonyms import pseudonym, register_pseudonym_function
from orchestration.privacy.sharing import (
    Agreement,
    AgreementError,
    ExtractResult,
    agreement_key,
    find_agreement,
    load_agreement,
    write_extract,
)

__all__ = [
    "HEALTH_CLASSIFICATION",
    "OPT_OUT_LIST",
    "OPT_OUT_TABLE",
    "THRESHOLD",
    "Agreement",
    "AgreementError",
    "ExtractResult",
    "SuppressedTable",
    "agreement_key",
    "count_opted_out_rows",
    "excluded_person_records_sql",
    "find_agreement",
    "health_datasets",
    "load_agreement",
    "pseudonym",
    "register_pseudonym_function",
    "record_exclusions",
    "recoverable_cells",
    "scan_for_identifiers",
    "suppress",
    "write_extract",
]
