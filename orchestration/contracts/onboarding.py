"""Onboarding by contract: the dbt code a new dataset needs, generated from its contract.

``commonground onboard expectations/contracts/<department>/<dataset>.yaml`` validates the
contract and writes, under ``dbt_project/models/staging/<department>/``:

- ``_<department>__<dataset>__sources.yml``: the raw table as a dbt source (its Dagster asset
  key is the ingest asset the contract already yields);
- ``stg_<department>__<dataset>.sql``: the staging model, each column cleaned by the
  ``standardise`` macro of its standard attribute, direct identifiers pseudonymised, the
  latest load of each primary key kept;
- ``_<department>__<dataset>__models.yml``: the model's documentation, owner and key tests.

It then regenerates ``int_person_records_unioned.sql`` from every contract, so a dataset
whose columns map to person attributes feeds the conformed person records. The ingest asset,
the raw table and the quarantine table need no code: they come from the contract.

Generated files start with a marker line and are rewritten only when their content would
change, so onboarding is idempotent and the output is reviewed like any code. A staging model
without the marker is hand-written and never overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orchestration.contracts.model import check_contract_location, load_contract, load_contracts
from orchestration.contracts.person_union import (
    is_person_source,
    person_union_path,
    render_person_union,
)
from orchestration.contracts.staging import (
    MARKER,
    render_models_yaml,
    render_sources_yaml,
    render_staging_sql,
    staging_names,
)
from orchestration.project import CONTRACTS_DIR, DBT_PROJECT_DIR

__all__ = [
    "MARKER",
    "GeneratedFile",
    "is_person_source",
    "onboard",
    "person_union_path",
    "render_models_yaml",
    "render_person_union",
    "render_sources_yaml",
    "render_staging_sql",
    "staging_names",
]


@dataclass(frozen=True)
class GeneratedFile:
    """One file onboarding writes, and what happened to it.

    Attributes:
        path: The file.
        action: ``created``, ``updated``, ``unchanged`` or ``kept`` (hand-written, left alone).
    """

    path: Path
    action: str


def _write(path: Path, content: str, check: bool) -> GeneratedFile:
    if path.exists():
        current = path.read_text(encoding="utf-8")
        if current == content:
            return GeneratedFile(path, "unchanged")
        if MARKER not in current:
            return GeneratedFile(path, "kept")
        action = "updated"
    else:
        action = "created"
    if not check:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return GeneratedFile(path, action)


def onboard(
    contract_path: Path,
    contracts_dir: Path | None = None,
    dbt_dir: Path | None = None,
    check: bool = False,
) -> list[GeneratedFile]:
    """Generates (or, with ``check``, only compares) the dbt code of a contract's dataset.

    Args:
        contract_path: The contract (``<contracts_dir>/<department>/<dataset>.yaml``).
        contracts_dir: Every contract (for the person union); the repository's by default.
        dbt_dir: The dbt project; the repository's by default.
        check: Write nothing; report what would change.

    Returns:
        Each generated file and its action. A staging model that exists without the marker
        is ``kept`` (hand-written) and its dbt files are not generated.

    Raises:
        ContractError: The contract (or another one) is invalid, or ``contract_path`` is not
            ``<contracts_dir>/<department>/<dataset>.yaml`` (``..``, a symlink, elsewhere).
    """
    contracts_dir = Path(contracts_dir or CONTRACTS_DIR)
    dbt_dir = Path(dbt_dir or DBT_PROJECT_DIR)
    contract = load_contract(check_contract_location(contract_path, contracts_dir))
    folder = dbt_dir / "models" / "staging" / contract.department
    model = folder / f"stg_{contract.raw_table}.sql"
    results = []
    if model.exists() and MARKER not in model.read_text(encoding="utf-8"):
        results.append(GeneratedFile(model, "kept"))
    else:
        results.append(_write(model, render_staging_sql(contract), check))
        results.append(
            _write(
                folder / f"_{contract.raw_table}__sources.yml", render_sources_yaml(contract), check
            )
        )
        results.append(
            _write(
                folder / f"_{contract.raw_table}__models.yml", render_models_yaml(contract), check
            )
        )
    contracts = load_contracts(contracts_dir)
    if contract.id not in {c.id for c in contracts}:
        contracts.append(contract)
    results.append(_write(person_union_path(dbt_dir), render_person_union(contracts), check))
    return results
