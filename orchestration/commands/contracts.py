"""``commonground contracts diff`` and ``commonground onboard``: output and exit codes."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console


def diff(console: Console, old: Path, new: Path) -> int:
    """Prints the changes from contract ``old`` to ``new``; returns 1 when any is breaking.

    Returns 2 when either file is not a valid contract.
    """
    from orchestration.lib.contract_diff import diff_contracts
    from orchestration.lib.contracts import ContractError, load_contract

    try:
        before = load_contract(old, check_location=False)
        after = load_contract(new, check_location=False)
    except ContractError as exc:
        console.print(f"[red]invalid contract[/red] {exc}")
        return 2
    changes = diff_contracts(before, after)
    if not changes:
        console.print(f"No changes from {old} to {new}.")
        return 0
    breaking = [c for c in changes if c.breaking]
    for change in changes:
        label = "[red]BREAKING[/red]    " if change.breaking else "non-breaking"
        console.print(f"{label} {change.field}: {change.message}", soft_wrap=True)
    console.print(
        f"{len(breaking)} breaking, {len(changes) - len(breaking)} non-breaking change(s) "
        f"in {after.id} {before.version} -> {after.version}."
    )
    return 1 if breaking else 0


def onboard(console: Console, contract: Path, check: bool) -> int:
    """Generates a dataset's dbt code from its contract; returns 1 on an invalid contract
    or, with ``check``, when generated code is out of date."""
    from orchestration.lib.contracts import ContractError
    from orchestration.lib.onboarding import onboard as generate

    try:
        results = generate(contract, check=check)
    except ContractError as exc:
        console.print(f"[red]invalid contract[/red] {exc}")
        return 1
    for result in results:
        console.print(f"{result.action:>9}  {result.path}", soft_wrap=True)
    stale = [r for r in results if r.action in {"created", "updated"}]
    if check and stale:
        console.print(f"{len(stale)} generated file(s) out of date: run `commonground onboard`.")
        return 1
    if not check:
        console.print(
            "Review and commit the files; the ingest asset, raw and quarantine tables come from "
            "the contract itself. Deliver files to "
            f"landing/{contract.parent.name}/{contract.stem}/."
        )
    return 0
