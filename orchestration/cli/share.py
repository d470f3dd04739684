"""``commonground share``: a consumer's extract under a sharing agreement."""

from __future__ import annotations

from datetime import date

import duckdb
import typer

from orchestration.cli.app import app, console, current_settings
from orchestration.privacy import AgreementError, find_agreement, write_extract
from orchestration.project import AGREEMENTS_DIR


@app.command()
def share(
    agreement: str = typer.Argument(..., help="Agreement id: expectations/agreements/<id>.yaml"),
    on: str = typer.Option(None, help="Date to check the agreement against (default: today)."),
) -> None:
    """Writes a consumer's extract under a sharing agreement; refuses unknown or expired ones."""
    settings = current_settings()
    try:
        found = find_agreement(
            AGREEMENTS_DIR, agreement, date.fromisoformat(on) if on else date.today()
        )
        with duckdb.connect(str(settings.warehouse_path)) as con:
            result = write_extract(con, found, settings.pseudonym_key, settings.extracts_dir)
    except AgreementError as exc:
        console.print(f"[red]REFUSED[/red] {exc}")
        raise typer.Exit(code=1) from exc
    for dataset, rows in result.rows.items():
        console.print(f"{dataset}: {rows:,} rows")
    console.print(
        f"Extract {result.extract_id} for {found.consumer} written to {result.directory} "
        "and logged in governance.sharing_log."
    )
