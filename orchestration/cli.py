"""The ``commonground`` command: generate sample data, run the pipeline, lint contracts."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing.util
import os
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


@app.callback()
def _start() -> None:
    """Checks the settings before any command (production refuses to start without its key)."""
    from orchestration.settings import MissingSecretError

    try:
        _settings()
    except MissingSecretError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(code=2) from exc


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
    if summary.skipped_reason:
        console.print(f"[yellow]Downstream not rebuilt:[/yellow] {summary.skipped_reason}")
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
    _print_quality(summary, settings)


def _print_quality(summary, settings) -> None:
    """The GDQF scorecard, what blocked publishing (if anything) and the published snapshot."""
    card = Table(title="Quality scorecard (GDQF)")
    for col in ("dataset", "dimension", "checks", "score", "target", "met"):
        card.add_column(col, justify="right" if col in {"checks", "score", "target"} else "left")
    for r in summary.scorecard:
        card.add_row(
            r.dataset,
            r.dimension,
            f"{r.checks_passed}/{r.checks}",
            "n/a" if r.score is None else f"{r.score:.2f}%",
            "all pass" if r.target is None else f"{r.target:g}%",
            "[green]yes[/green]" if r.met else "[red]no[/red]",
        )
    console.print(card)
    for c in summary.blocking_failures:
        console.print(f"  [red]BLOCKED BY[/red] {c.asset} :: {c.name}")
    if summary.published and summary.published[0] == summary.run_id:
        console.print(f"Published: {settings.published_dir / 'analytics.duckdb'} (this run)")
    elif summary.published:
        console.print(
            f"[red]Not published by this run[/red]; analysts still read "
            f"{settings.published_dir / 'analytics.duckdb'} from run {summary.published[0]}"
        )
    else:
        console.print("[red]Nothing is published yet.[/red]")


@app.command()
def run(
    force: bool = typer.Option(False, help="Rebuild downstream even when nothing changed."),
) -> None:
    """Ingests new deliveries, rebuilds what they change and prints a summary.

    Exits 1 on a failure that blocks (a failed step or a failed ERROR check).
    """
    from orchestration.lib.pipeline import run_everything

    summary = run_everything(force=force)
    _print_summary(summary)
    if not summary.success or summary.blocking_failures:
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
        f"  published:      {settings.published_dir / 'analytics.duckdb'}  (read-only snapshot "
        "for analysts)\n"
        f"  quality docs:   {settings.docs_dir / 'quality' / 'index.html'}\n"
        "  Dagster UI:     make ui  (then open http://127.0.0.1:3000)\n"
    )
    if not summary.success or summary.blocking_failures:
        raise typer.Exit(code=1)


@app.command()
def bench(
    citizens: list[int] = typer.Option(
        [100_000, 1_000_000], "--citizens", help="Population sizes (repeat the option)."
    ),
    workdir: Path = typer.Option(Path(".bench"), help="Scratch folder for the runs."),
    output: Path = typer.Option(Path(".bench/results.md"), help="Markdown table to write."),
    memory_limited: bool = typer.Option(True, help="Also run with DuckDB memory_limit 2GB."),
) -> None:
    """Benchmarks every stage against plain DuckDB at each size (see BENCHMARKS.md)."""
    from orchestration.bench.runner import markdown_table, run_benchmark, save

    results = run_benchmark(sorted(citizens), workdir.resolve(), memory_limited=memory_limited)
    table = markdown_table(results)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(table + "\n")
    save(results, output.with_suffix(".json"))
    console.print(table)
    console.print(f"Results: {output} and {output.with_suffix('.json')}")


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


@contracts_app.command("diff")
def contracts_diff(
    old: Path = typer.Argument(..., help="The contract as it was."),
    new: Path = typer.Argument(..., help="The contract as proposed."),
) -> None:
    """Lists breaking and non-breaking changes from OLD to NEW; exits 1 when any is breaking."""
    from orchestration.commands.contracts import diff

    raise typer.Exit(code=diff(console, old, new))


@app.command()
def onboard(
    contract: Path = typer.Argument(..., help="expectations/contracts/<department>/<dataset>.yaml"),
    check: bool = typer.Option(False, help="Write nothing; exit 1 if generated code is stale."),
) -> None:
    """Generates a dataset's dbt source and staging model from its contract (idempotent)."""
    from orchestration.commands.contracts import onboard as run_onboard

    raise typer.Exit(code=run_onboard(console, contract, check))


@app.command()
def share(
    agreement: str = typer.Argument(..., help="Agreement id: expectations/agreements/<id>.yaml"),
    on: str = typer.Option(None, help="Date to check the agreement against (default: today)."),
) -> None:
    """Writes a consumer's extract under a sharing agreement; refuses unknown or expired ones."""
    from datetime import date

    import duckdb

    from orchestration.lib.sharing import AgreementError, find_agreement, write_extract
    from orchestration.project import AGREEMENTS_DIR

    settings = _settings()
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


def main() -> None:
    """Entry point of the ``commonground`` command and ``python -m orchestration.cli``.

    Exits without interpreter finalisation: once GX and DuckDB's bindings have run, Python's
    teardown makes nanobind print pages of spurious "leaked instance" warnings. The one part
    of that teardown that matters is run first: multiprocessing's exit hook releases the
    semaphores dbt's adapter made (else its resource tracker warns of leaked semaphores).
    """
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    code = 0
    try:
        app()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        with contextlib.suppress(Exception):
            multiprocessing.util._exit_function()
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
