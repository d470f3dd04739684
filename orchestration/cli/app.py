"""The ``commonground`` Typer application, its console and the settings check every command
passes first."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass
class Options:
    """Options given before the command, for every command."""

    debug: bool = False


options = Options()
"""This invocation's global options (set by the callback before the command runs)."""

WITHOUT_SETTINGS = {"keygen"}
"""Commands that work before the settings are valid (``keygen`` makes the missing key)."""


@app.callback()
def _start(
    ctx: typer.Context,
    debug: bool = typer.Option(
        False, "--debug", help="Show the full traceback when a command fails."
    ),
) -> None:
    """Checks the settings before any command (production refuses to start without its key)."""
    options.debug = debug
    if ctx.invoked_subcommand in WITHOUT_SETTINGS:
        return
    try:
        current_settings()
    except MissingSecretError as exc:
        console.print(f"[red]{exc}[/red]", soft_wrap=True)
        raise typer.Exit(code=2) from exc
