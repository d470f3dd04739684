"""``commonground generate``, ``prepare``, ``run`` and ``demo``: the pipeline from the shell."""

from __future__ import annotations

import sys
import time

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from orchestration.cli.app import app, console, current_settings, options
from orchestration.faults import explain_chain
from orchestration.progress import STAGE_NAMES, stage_of, tail
from orchestration.project import ensure_manifest

# The runner, the generator and dbt are imported inside the commands that use them: each
# takes seconds to import, and `commonground contracts lint` should not wait for them.


@app.command()
def generate(
    citizens: int = typer.Option(10_000, help="Number of synthetic citizens."),
    seed: int = typer.Option(42, help="Random seed; the same seed gives the same files."),
    messiness: float = typer.Option(
        1.0, help="Scale of realistic mess (typos, invalid identifiers...); 0 gives clean data."
    ),
    progress: bool = typer.Option(True, help="Show a progress bar."),
    profile: str = typer.Option(
        "uk",
        help="Which departments: uk (the sample UK departments) or foreign (a fictional "
        "country's, whose contracts are in expectations/examples/foreign).",
    ),
) -> None:
    """Writes the sample departments' deliveries to the landing zone, plus ground truth."""
    from orchestration.generator import PROFILES, generate_population  # deferred (see above)

    if profile not in PROFILES:
        raise typer.BadParameter(f"choose one of {', '.join(PROFILES)}", param_hint="--profile")
    settings = current_settings()
    summary = generate_population(
        settings.data_dir,
        citizens=citizens,
        seed=seed,
        messiness=messiness,
        progress=progress,
        profile=profile,
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
    """Parses the dbt project and, when DAGSTER_HOME has no instance file, writes the
    development one (deploy/dagster.dev.yaml: SQLite, one warehouse writer at a time)."""
    from orchestration.cli.serve import DEVELOPMENT_INSTANCE, install_instance  # deferred

    ensure_manifest(force=True)
    console.print("dbt project parsed.")
    settings = current_settings()
    if settings.dagster_home is not None:
        console.print(f"Instance: {install_instance(settings.dagster_home, DEVELOPMENT_INSTANCE)}")


def run_fault(summary) -> str | None:
    """One line for the operational fault (disk full, a lock...) that failed a step, if any."""
    for step in summary.failed_steps:
        explained = explain_chain(summary.step_errors.get(step, ()))
        if explained:
            return explained
    return None


def _step_error(summary, step: str) -> str:
    """``: <class>: <first line>`` of the error behind a failed step (its root cause)."""
    chain = summary.step_errors.get(step) or []
    if not chain:
        return ""
    cls_name, message = chain[-1]
    return f": {cls_name}: {(message.strip().splitlines() or [''])[0]}"


def _log_level() -> str:
    """Dagster's console log level: its step failures carry stack traces, kept for --debug."""
    return "WARNING" if options.debug else "CRITICAL"


def _print_summary(summary) -> None:
    settings = current_settings()
    fault = run_fault(summary)
    if fault:
        # The warehouse could not be built or read: its tables say nothing; the cause does.
        for step in summary.failed_steps:
            console.print(f"  [red]FAILED STEP[/red] {step}")
        console.print(f"Run {summary.run_id} [red]failed[/red] in {summary.seconds:.1f}s")
        console.print(f"[red]Error:[/red] {fault}", soft_wrap=True)
        return
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
        console.print(
            f"  [red]FAILED STEP[/red] {step}{_step_error(summary, step)}", soft_wrap=True
        )
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


class StageProgress:
    """A progress bar per stage of a run (ingest, dbt, linkage, quality, ...), fed step events.

    Drawn on the console the command started with: while the run works, everything else it
    writes goes to the run log (``data/logs/pipeline.log``).
    """

    def __init__(self) -> None:
        self.display = Progress(
            TextColumn("{task.description:<16}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("[dim]{task.fields[step]}"),
            console=Console(file=sys.stdout),
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {
            stage: self.display.add_task(stage, total=0, step="", start=False, visible=False)
            for stage in STAGE_NAMES
        }

    def __call__(self, event: str, step: str) -> None:
        stage = stage_of(step)
        if stage not in self.tasks:
            self.tasks[stage] = self.display.add_task(stage, total=0, step="", start=False)
        task_id = self.tasks[stage]
        task = self.display.tasks[task_id]
        if event == "STEP_PLANNED":
            self.display.update(task_id, total=(task.total or 0) + 1, visible=True)
        elif event == "STEP_START":
            if not task.started:
                self.display.start_task(task_id)
            self.display.update(task_id, step=step, visible=True)
        else:
            mark = {"STEP_FAILURE": " [red]failed[/red]", "STEP_SKIPPED": " skipped"}
            total = max(task.total or 0, task.completed + 1)
            self.display.update(
                task_id, advance=1, total=total, step=f"{step}{mark.get(event, '')}"
            )
            if task.completed >= total:
                self.display.stop_task(task_id)

    def __enter__(self) -> StageProgress:
        self.display.start()
        return self

    def __exit__(self, *exc) -> None:
        self.display.stop()


def _print_log_tail(summary) -> None:
    """Where the run's log is and, when the run failed, its last lines."""
    if summary.log_file is None:
        return
    # An operational fault (disk full, a lock) is explained in one line; its traceback is
    # in the log for whoever wants it, not on the screen.
    if (not summary.success or summary.failed_steps) and not run_fault(summary):
        console.print(f"[red]Last lines of the run log[/red] ({summary.log_file}):")
        for line in tail(summary.log_file, 25):
            console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"Run log (dbt, Dagster): {summary.log_file}", soft_wrap=True)


def _waiting(holder) -> None:
    who = holder.describe() if holder else "another process"
    console.print(f"[yellow]Waiting for the warehouse:[/yellow] it is being written by {who}.")


@app.command()
def run(
    force: bool = typer.Option(False, help="Rebuild downstream even when nothing changed."),
    full_refresh: bool = typer.Option(
        False,
        help="Rebuild every incremental model and the person index from scratch (implies "
        "--force) instead of continuing from what earlier runs built.",
    ),
    wait: float = typer.Option(
        None,
        help="Seconds to wait while another run writes the warehouse (default: "
        "COMMONGROUND_WRITER_WAIT_SECONDS, or 600).",
        min=0,
    ),
) -> None:
    """Ingests new deliveries, rebuilds what they change and prints a summary.

    Exits 1 on a failure that blocks (a failed step or a failed ERROR check). A step that
    failed for an operational reason (disk full, the warehouse locked by another process,
    out of memory) ends the summary with one line saying so and what to do. While another
    run writes the warehouse (the Dagster UI, a schedule, a sensor, another `commonground
    run`), this one waits for it, up to ``--wait`` seconds, then exits 1 saying so.
    """
    from orchestration.runner import run_everything  # deferred (see above)

    with StageProgress() as progress:
        summary = run_everything(
            log_level=_log_level(),
            force=force,
            full_refresh=full_refresh,
            wait_seconds=wait,
            on_wait=_waiting,
            on_step=progress,
            quiet=True,
        )
    _print_summary(summary)
    _print_log_tail(summary)
    if not summary.success or summary.blocking_failures:
        raise typer.Exit(code=1)


@app.command()
def demo(
    citizens: int = typer.Option(10_000, help="Number of synthetic citizens."),
    seed: int = typer.Option(42, help="Random seed."),
    profile: str = typer.Option(
        "uk",
        help="Which departments: uk, or foreign (its contracts must be onboarded from "
        "expectations/examples/foreign first, or its files are not loaded).",
    ),
) -> None:
    """Generates the sample departments, runs the whole pipeline and says where results are."""
    started = time.perf_counter()
    generate(citizens=citizens, seed=seed, messiness=1.0, progress=True, profile=profile)
    from orchestration.runner import run_everything  # deferred (see above)

    with StageProgress() as progress:
        summary = run_everything(
            log_level=_log_level(), on_wait=_waiting, on_step=progress, quiet=True
        )
    _print_summary(summary)
    _print_log_tail(summary)
    settings = current_settings()
    console.print(
        f"\nDemo finished in {time.perf_counter() - started:.1f}s.\n"
        f"  landing files:  {settings.landing_dir}\n"
        f"  warehouse:      {settings.warehouse_path}  (schemas raw, staging, conformed, "
        "marts_*, governance)\n"
        f"  ground truth:   {settings.ground_truth_dir}\n"
        f"  published:      {settings.published_dir / 'analytics.duckdb'}  (read-only snapshot "
        "for analysts)\n"
        f"  portal:         {settings.data_dir / 'portal' / 'index.html'}  (datasets, "
        "lineage, quality, maturity; works offline)\n"
        f"  catalogue:      {settings.data_dir / 'catalogue'}  (UK metadata exchange model, "
        "JSON and JSON-LD)\n"
        f"  lineage events: {settings.data_dir / 'openlineage'}  (OpenLineage, one file per "
        "run)\n"
        "  Dagster UI:     make ui  (then open http://127.0.0.1:3000)\n"
    )
    if not summary.success or summary.blocking_failures:
        raise typer.Exit(code=1)
