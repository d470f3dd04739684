"""``commonground linkage review``: the clerical review loop of the person linkage."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import typer

from orchestration.cli.app import app, console, current_settings
from orchestration.linkage import review as clerical

linkage_app = typer.Typer(help="Person linkage: clerical review.", no_args_is_help=True)
app.add_typer(linkage_app, name="linkage")


@linkage_app.command("review")
def linkage_review(
    sample: int = typer.Option(None, "--sample", min=1, help="Export N pairs for review."),
    reviewed: Path = typer.Option(
        None, "--import", help="Read a reviewed CSV back and record its precision."
    ),
    seed: int = typer.Option(0, help="Varies which uncertain pairs are drawn."),
) -> None:
    """Exports pairs for clerical review (--sample N) or records a reviewed file (--import FILE).

    The export takes N pairs from the uncertain band (match probability 0.1 to 0.9), or the
    accepted links of lowest probability when the band is empty, and writes them as CSV and
    HTML under <data dir>/linkage/review/<timestamp>/. The import records the share of
    decided pairs that reviewers judged a match in governance.linkage_metrics.
    """
    if (sample is None) == (reviewed is None):
        console.print("[red]Give exactly one of --sample N or --import FILE.[/red]")
        raise typer.Exit(code=2)
    settings = current_settings()
    if not settings.warehouse_path.exists():
        console.print(f"[red]No warehouse at {settings.warehouse_path}: run the pipeline first.")
        raise typer.Exit(code=1)
    if sample is not None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            rows, band = clerical.sample_pairs(con, sample, settings.pseudonym_key, seed)
        export = clerical.write_review(rows, settings.data_dir / "linkage" / "review" / stamp, band)
        console.print(
            f"{export.pairs} pair(s) ({export.band}) for review: {export.csv_path} "
            f"and {export.html_path}. Fill in reviewer_decision (match, non-match or unsure), "
            "then run `commonground linkage review --import` with the CSV.",
            soft_wrap=True,
        )
        return
    try:
        outcome = clerical.read_review(reviewed)
        if not outcome.reviewed_pairs:
            raise clerical.ReviewFileError(
                reviewed, 2, clerical.DECISION_FIELD, "no pair is decided match or non-match"
            )
    except (OSError, clerical.ReviewFileError) as exc:
        console.print(f"[red]REJECTED[/red] {exc}", soft_wrap=True)
        raise typer.Exit(code=1) from exc
    run_id = f"review:{reviewed.resolve().parent.name}/{reviewed.name}"
    with duckdb.connect(str(settings.warehouse_path)) as con:
        clerical.record_review(con, outcome, run_id)
    console.print(
        f"{outcome.reviewed_pairs} pair(s) decided ({outcome.matches} match, "
        f"{outcome.non_matches} non-match; {outcome.unsure} unsure, {outcome.undecided} "
        f"undecided): reviewed precision {outcome.reviewed_precision:.3f}, recorded in "
        f"governance.linkage_metrics as {run_id}.",
        soft_wrap=True,
    )
