"""The ``commonground`` command: generate sample data, run the pipeline, manage contracts.

One module per command group: :mod:`~orchestration.cli.pipeline` (generate, prepare, run,
demo), :mod:`~orchestration.cli.contracts` (contracts lint and diff, onboard),
:mod:`~orchestration.cli.share`, :mod:`~orchestration.cli.linkage` (linkage review),
:mod:`~orchestration.cli.keys` (keygen) and :mod:`~orchestration.cli.bench`. Operational
faults are explained in one line by :mod:`~orchestration.faults`.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing.util
import os
import sys
import traceback

# The pipeline commands register first, so `--help` lists them first.
from orchestration.cli import pipeline

# isort: split
from orchestration.cli import bench, contracts, keys, linkage, serve, share
from orchestration.cli.app import app, options
from orchestration.faults import explain

__all__ = [
    "app",
    "bench",
    "contracts",
    "keys",
    "linkage",
    "main",
    "pipeline",
    "run_command",
    "serve",
    "share",
]


def run_command(args: list[str] | None = None) -> int:
    """Runs one ``commonground`` command line and returns its exit code.

    An operational fault (disk full, a locked warehouse, out of memory, an unusable data
    directory: :mod:`~orchestration.faults`) ends with one line on standard error saying
    what happened and what to do, and exit code 1; ``--debug`` adds the traceback. Any other
    exception is a bug and shows its traceback.

    Args:
        args: The arguments after ``commonground`` (default: the process's).
    """
    options.debug = False
    try:
        app(args=args, prog_name="commonground")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception as exc:
        message = explain(exc)
        if options.debug or message is None:
            traceback.print_exception(exc)
        if message is not None:
            sys.stderr.write(f"Error: {message}\n")
        return 1
    return 0


def main() -> None:
    """Entry point of the ``commonground`` command and ``python -m orchestration.cli``.

    Exits without interpreter finalisation: once GX and DuckDB's bindings have run, Python's
    teardown makes nanobind print pages of spurious "leaked instance" warnings. The one part
    of that teardown that matters is run first: multiprocessing's exit hook releases the
    semaphores dbt's adapter made (else its resource tracker warns of leaked semaphores).
    """
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    code = 1
    try:
        code = run_command()
    finally:
        with contextlib.suppress(Exception):
            multiprocessing.util._exit_function()
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)
