"""Data contracts (ODCS v3): loading and validating them, diffing versions, onboarding.

- :mod:`~orchestration.contracts.model`: the contract as typed data, parsed and validated
  with the official ODCS JSON Schema plus Common Ground's rules (its parts parsed by
  :mod:`~orchestration.contracts.columns`, :mod:`~orchestration.contracts.quality` and
  :mod:`~orchestration.contracts.delivery`); contract files are read by
  :mod:`~orchestration.contracts.safe_yaml` (size, location, a YAML loader without bombs) and
  ``sql`` rules are held to one SELECT over their table by
  :mod:`~orchestration.contracts.sql_rules`.
- :mod:`~orchestration.contracts.diff`: breaking and non-breaking changes between versions.
- :mod:`~orchestration.contracts.onboarding`: the dbt code a dataset needs, generated from
  its contract (``commonground onboard``): the staging model and its YAML
  (:mod:`~orchestration.contracts.staging`) and the person union
  (:mod:`~orchestration.contracts.person_union`).
"""

from orchestration.contracts.dates import (
    DateFormatError,
    DatePattern,
    check_date_format,
    date_pattern,
    pattern_date_sql,
)
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
from orchestration.contracts.validity import OptionRule, option_rules, present_sql

__all__ = [
    "MARKER",
    "Change",
    "Column",
    "Contract",
    "ContractError",
    "DateFormatError",
    "DatePattern",
    "GeneratedFile",
    "OptionRule",
    "QualityRule",
    "check_date_format",
    "contract_paths",
    "date_pattern",
    "diff_contracts",
    "is_person_source",
    "load_contract",
    "load_contracts",
    "odcs_json_schema",
    "onboard",
    "option_rules",
    "pattern_date_sql",
    "person_union_path",
    "present_sql",
    "render_models_yaml",
    "render_person_union",
    "render_sources_yaml",
    "render_staging_sql",
    "staging_names",
]
