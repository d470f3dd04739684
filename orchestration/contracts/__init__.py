"""Data contracts (ODCS v3): loading and validating them, diffing versions, onboarding.

- :mod:`~orchestration.contracts.model`: the contract as typed data, parsed and validated
  with the official ODCS JSON Schema plus Common Ground's rules.
- :mod:`~orchestration.contracts.diff`: breaking and non-breaking changes between versions.
- :mod:`~orchestration.contracts.onboarding`: the dbt code a dataset needs, generated from
  its contract (``commonground onboard``).
"""

from orchestration.contracts.diff import Change, diff_contracts
from orchestration.contracts.model import (
    Column,
    Contract,
    ContractError,
    QualityRule,
    contract_paths,
    load_contract,
    load_contracts,
    odcs_json_schema,
)
from orchestration.contracts.onboarding import (
    MARKER,
    GeneratedFile,
    is_person_source,
    onboard,
    person_union_path,
    render_person_union,
)

__all__ = [
    "MARKER",
    "Change",
    "Column",
    "Contract",
    "ContractError",
    "GeneratedFile",
    "QualityRule",
    "contract_paths",
    "diff_contracts",
    "is_person_source",
    "load_contract",
    "load_contracts",
    "odcs_json_schema",
    "onboard",
    "person_union_path",
    "render_person_union",
]
