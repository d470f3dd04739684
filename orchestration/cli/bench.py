"""``commonground bench``: every stage against plain DuckDB (see BENCHMARKS.md)."""

from __future__ import annotations

from pathlib import Path

import typer

from orchestration.cli.app import app, console


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
    # deferred: the benchmarks import the whole pipeline; other commands need not.
    from orchestration.bench.runner import markdown_table, run_benchmark, save

    results = run_benchmark(sorted(citizens), workdir.resolve(), memory_limited=memory_limited)
    table = markdown_table(results)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(table + "\n")
    save(results, output.with_suffix(".json"))
    console.print(table)
    console.print(f"Results: {output} and {output.with_suffix('.json')}")
