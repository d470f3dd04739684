"""Data contracts (ODCS v3): loading and validating them, diffing versions, onboarding.

- :mod:`~orchestration.contracts.model`: the contract as typed data, parsed and validated
  with the official ODCS JSON Schema plus Common Ground's rules (its parts parsed by
  :mod:`~orchestration.contracts.columns`, :mod:`~orchestration.contracts.quality` and
  :mod:`~orchestration.contracts.delivery`).
- :mod:`~orchestration.contracts.diff`: breaking and non-breaking changes between versions.
- :mod:`~orchestration.contracts.onboarding`: the dbt code a dataset needs, generated from
  its contract (``commonground onboard``): the staging model and its YAML
  (:mod:`~orchestration.contracts.staging`) and the person union
  (:mod:`~orchestration.contracts.person_union`).
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
    render_models_yaml,
    render_person_union,
    render_sources_yaml,
    render_staging_sql,
    staging_names,
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
    "render_models_yaml",
    "render_person_union",
    "render_sources_yaml",
    "render_staging_sql",
    "staging_names",
]
