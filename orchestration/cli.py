"""The ``commonground`` command: generate sample data, run the pipeline, lint contracts."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="Common Ground: a governed data exchange for joined-up government.",
    no_args_is_help=True,
    add_completion=False,
)
contracts_app = typer.Typer(help="Data contracts: lint and inspect.", no_args_is_help=True)
app.add_typer(contracts_app, name="contracts")
console = Console()


def _settings():
    from orchestration.settings import get_settings

    return get_settings()


@app.command()
def generate(
    citizens: int = typer.Option(10_000, help="Number of synthetic citizens."),
    seed: int = typer.Option(42, help="Random seed; the same seed gives the same files."),
    messiness: float = typer.Option(
        1.0, help="Scale of realistic mess (typos, invalid identifiers...); 0 gives clean data."
    ),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Writes the sample departments' deliveries to the landing zone, plus ground truth."""
    from orchestration.generator import generate_population

    settings = _settings()
    summary = generate_population(
        settings.data_dir, citizens=citizens, seed=seed, messiness=messiness, progress=progress
    )
    table = Table(
        title=f"Generated {summary.citizens:,} citizens at {summary.properties:,} properties "
        f"(seed {seed}) in {summary.elapsed_seconds:.1f}s"
    )
    table.add_column("dataset")
    table.add_column("rows", justify="right")
    table.add_column("file")
    for name, path in summary.files.items():
        table.add_row(name, f"{summary.rows[name]:,}", str(path.relative_to(settings.data_dir)))
    console.print(table)
    console.print(f"Ground truth: {settings.ground_truth_dir}")


@app.command()
def prepare() -> None:
    """Parses the dbt project (writes dbt_project/target/manifest.json)."""
    from orchestration.defs.transform.assets import ensure_manifest

    ensure_manifest(force=True)
    console.print("dbt project parsed.")


def _print_summary(summary) -> None:
    settings = _settings()
    layers = Table(title="Rows per layer")
    layers.add_column("layer")
    layers.add_column("rows", justify="right")
    for layer, rows in summary.rows_by_layer().items():
        layers.add_row(layer, f"{rows:,}")
    console.print(layers)

    ingest = Table(title="Deliveries this run")
    for col in ("department", "dataset", "status", "files", "rows in", "loaded", "quarantined"):
        ingest.add_column(col, justify="right" if col[0] in "frlq" else "left")
    for row in summary.ingestion:
        ingest.add_row(*[f"{v:,}" if isinstance(v, int) else str(v) for v in row])
    console.print(ingest)

    marts = Table(title="Marts")
    marts.add_column("table")
    marts.add_column("rows", justify="right")
    for schema, name, rows in summary.tables:
        if schema.startswith("marts"):
            marts.add_row(f"{schema}.{name}", f"{rows:,}")
    console.print(marts)

    passed = sum(c.passed for c in summary.checks)
    console.print(
        f"Checks: {passed} passed, {len(summary.failed_checks)} failed (of {len(summary.checks)})"
    )
    for c in summary.failed_checks:
        console.print(f"  [red]FAILED[/red] {c.severity} {c.asset} :: {c.name} {c.description}")
    for step in summary.failed_steps:
        console.print(f"  [red]FAILED STEP[/red] {step}")
    status = "[green]succeeded[/green]" if summary.success else "[red]failed[/red]"
    console.print(f"Run {summary.run_id} {status} in {summary.seconds:.1f}s")
    console.print(f"Warehouse: {settings.warehouse_path}")


@app.command()
def run() -> None:
    """Materializes every asset headless and prints a summary; exits 1 on any failure."""
    from orchestration.lib.pipeline import run_everything

    summary = run_everything()
    _print_summary(summary)
    if not summary.success or summary.failed_checks:
        raise typer.Exit(code=1)


@app.command()
def demo(
    citizens: int = typer.Option(10_000, help="Number of synthetic citizens."),
    seed: int = typer.Option(42, help="Random seed."),
) -> None:
    """Generates the sample departments, runs the whole pipeline and says where results are."""
    started = time.perf_counter()
    generate(citizens=citizens, seed=seed, messiness=1.0, progress=True)
    from orchestration.lib.pipeline import run_everything

    summary = run_everything()
    _print_summary(summary)
    settings = _settings()
    console.print(
        f"\nDemo finished in {time.perf_counter() - started:.1f}s.\n"
        f"  landing files:  {settings.landing_dir}\n"
        f"  warehouse:      {settings.warehouse_path}  (schemas raw, staging, conformed, "
        "marts_*, governance)\n"
        f"  ground truth:   {settings.ground_truth_dir}\n"
        "  Dagster UI:     make ui  (then open http://127.0.0.1:3000)\n"
    )
    if not summary.success or summary.failed_checks:
        raise typer.Exit(code=1)


@contracts_app.command("lint")
def contracts_lint(
    paths: list[Path] = typer.Argument(None, help="Contract files (default: all)."),
) -> None:
    """Validates contracts against the ODCS schema and Common Ground's rules."""
    from orchestration.lib.contracts import ContractError, contract_paths, load_contract
    from orchestration.project import CONTRACTS_DIR

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


def main() -> None:
    """Entry point used by ``python -m orchestration.cli``."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    app()


if __name__ == "__main__":
    main()
