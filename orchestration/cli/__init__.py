"""The ``commonground`` command: generate sample data, run the pipeline, manage contracts.

One module per command group: :mod:`~orchestration.cli.pipeline` (generate, prepare, run,
demo), :mod:`~orchestration.cli.contracts` (contracts lint and diff, onboard),
:mod:`~orchestration.cli.share`, :mod:`~orchestration.cli.linkage` (linkage review) and
:mod:`~orchestration.cli.bench`.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing.util
import os
import sys

# The pipeline commands register first, so `--help` lists them first.
from orchestration.cli import pipeline

# isort: split
from orchestration.cli import bench, contracts, linkage, share
from orchestration.cli.app import app

__all__ = ["app", "bench", "contracts", "linkage", "main", "pipeline", "share"]


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
