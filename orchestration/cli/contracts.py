"""``commonground contracts lint``, ``contracts diff`` and ``onboard``."""

from __future__ import annotations

from pathlib import Path

import typer

from orchestration.cli.app import app, console, contracts_app
from orchestration.contracts import (
    ContractError,
    contract_paths,
    diff_contracts,
    load_contract,
    onboard,
)
from orchestration.project import CONTRACTS_DIR


@contracts_app.command("lint")
def contracts_lint(
    paths: list[Path] = typer.Argument(None, help="Contract files (default: all)."),
) -> None:
    """Validates contracts against the ODCS schema and Common Ground's rules."""
    files = list(paths) if paths else contract_paths(CONTRACTS_DIR)
    failures = 0
    for path in files:
        try:
            contract = load_contract(path)
        except ContractError as exc:
            failures += 1
            console.print(f"[red]FAIL[/red] {exc}")
        else:
            console.print(f"[green]ok[/green]   {path} ({contract.id} v{contract.version})")
    if failures:
        console.print(f"{failures} of {len(files)} contracts are invalid.")
        raise typer.Exit(code=1)


@contracts_app.command("diff")
def contracts_diff(
    old: Path = typer.Argument(..., help="The contract as it was."),
    new: Path = typer.Argument(..., help="The contract as proposed."),
) -> None:
    """Lists breaking and non-breaking changes from OLD to NEW; exits 1 when any is breaking.

    Exits 2 when either file is not a valid contract.
    """
    try:
        before = load_contract(old, check_location=False)
        after = load_contract(new, check_location=False)
    except ContractError as exc:
        console.print(f"[red]invalid contract[/red] {exc}")
        raise typer.Exit(code=2) from exc
    changes = diff_contracts(before, after)
    if not changes:
        console.print(f"No changes from {old} to {new}.")
        raise typer.Exit(code=0)
    breaking = [c for c in changes if c.breaking]
    for change in changes:
        label = "[red]BREAKING[/red]    " if change.breaking else "non-breaking"
        console.print(f"{label} {change.field}: {change.message}", soft_wrap=True)
    console.print(
        f"{len(breaking)} breaking, {len(changes) - len(breaking)} non-breaking change(s) "
        f"in {after.id} {before.version} -> {after.version}."
    )
    raise typer.Exit(code=1 if breaking else 0)


@app.command("onboard")
def onboard_command(
    contracts: list[Path] = typer.Argument(
        None, help="expectations/contracts/<department>/<dataset>.yaml (default: every contract)."
    ),
    check: bool = typer.Option(False, help="Write nothing; exit 1 if generated code is stale."),
) -> None:
    """Generates dbt sources, staging models and the person union from contracts.

    Idempotent. With ``--check``, writes nothing and exits 1 when any generated file is stale;
    without a contract it covers every contract.
    """
    files = list(contracts) if contracts else contract_paths(CONTRACTS_DIR)
    results = {}
    try:
        for path in files:
            for result in onboard(path, check=check):
                results[result.path] = result
    except ContractError as exc:
        console.print(f"[red]invalid contract[/red] {exc}", soft_wrap=True)
        raise typer.Exit(code=1) from exc
    for result in results.values():
        console.print(f"{result.action:>9}  {result.path}", soft_wrap=True)
    stale = [r for r in results.values() if r.action in {"created", "updated"}]
    if check and stale:
        console.print(f"{len(stale)} generated file(s) out of date: run `commonground onboard`.")
        raise typer.Exit(code=1)
    if not check and contracts:
        folders = ", ".join(f"landing/{p.parent.name}/{p.stem}/" for p in files)
        console.print(
            "Review and commit the files; the ingest asset, raw and quarantine tables come from "
            f"the contract itself. Deliver files to {folders}."
        )
