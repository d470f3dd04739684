"""``commonground keygen``: a new pseudonymisation key, printed and never stored."""

from __future__ import annotations

import secrets

import typer

from orchestration.cli.app import app
from orchestration.settings import MIN_KEY_BYTES


@app.command()
def keygen() -> None:
    """Prints a new pseudonymisation key (256 random bits as 64 hex characters).

    The key goes to standard output only, so ``export COMMONGROUND_PSEUDONYM_KEY=$(commonground
    keygen)`` captures it; it is never written to disk. How to use it goes to standard error.
    """
    typer.echo(secrets.token_hex(MIN_KEY_BYTES))
    typer.echo(
        "Keep this key in your secret store and set COMMONGROUND_PSEUDONYM_KEY to it in the "
        "pipeline's environment; it is not saved anywhere.",
        err=True,
    )
