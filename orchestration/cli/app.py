"""The ``commonground`` Typer application, its console and the settings check every command
passes first."""

from __future__ import annotations

import typer
from rich.console import Console

from orchestration.settings import MissingSecretError, Settings, get_settings

app = typer.Typer(
    help="Common Ground: a governed data exchange for joined-up government.",
    no_args_is_help=True,
    add_completion=False,
)
contracts_app = typer.Typer(help="Data contracts: lint and inspect.", no_args_is_help=True)
app.add_typer(contracts_app, name="contracts")
console = Console()


def current_settings() -> Settings:
    """The settings now (the environment may change between commands in one process)."""
    return get_settings()


@app.callback()
def _start() -> None:
    """Checks the settings before any command (production refuses to start without its key)."""
    try:
        current_settings()
    except MissingSecretError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(code=2) from exc
