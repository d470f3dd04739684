"""A fictional country's departments, onboarded by contract only, link as well as the demo:
alone, and beside the UK sample departments in one data directory.

Each flow copies the repository into a temporary folder, puts the foreign example contracts
under the copy's ``expectations/contracts/``, onboards, generates and runs the pipeline
through the CLI in subprocesses, and reads ``governance.linkage_metrics``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.linkage import metrics
from orchestration.settings import DEVELOPMENT_PSEUDONYM_KEY

REPO = Path(__file__).resolve().parents[2]
FOREIGN_CONTRACTS = REPO / "expectations" / "examples" / "foreign"
FOREIGN_DEPARTMENTS = ("revenue", "health", "transport")
COPY_IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "data", "target", "logs", "__pycache__", ".pytest_cache", ".ruff_cache"
)

pytestmark = pytest.mark.slow


def _copy_with_foreign_contracts(root: Path) -> Path:
    """A copy of the repository with the foreign example contracts beside the demo's (a
    dataset never delivered is not expected)."""
    copy = root / "repo"
    shutil.copytree(REPO, copy, ignore=COPY_IGNORED)
    shutil.copytree(FOREIGN_CONTRACTS, copy / "expectations" / "contracts", dirs_exist_ok=True)
    return copy


def _cli(copy: Path, *args: str) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("COMMONGROUND_") and key != "DAGSTER_HOME"
    }
    data = copy / "data"
    env.update(
        PYTHONPATH=str(copy),
        COMMONGROUND_DATA_DIR=str(data),
        COMMONGROUND_DBT_TARGET_DIR=str(copy / "target"),
        DAGSTER_HOME=str(data / "dagster_home"),
    )
    (data / "dagster_home").mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    # `run` exits non-zero when a non-linkage quality check fails; the metrics tell.
    if args[0] != "run":
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def _person_metrics(copy: Path) -> tuple[float, float, float]:
    with duckdb.connect(str(copy / "data" / "warehouse.duckdb"), read_only=True) as con:
        row = con.execute(
            "select precision, recall, f1 from governance.linkage_metrics "
            "where entity = 'person' order by measured_at desc limit 1"
        ).fetchone()
    assert row is not None and row[2] is not None, "no person F1 measured"
    return row


def _foreign_scores(copy: Path) -> tuple[float, float, float]:
    """Pairwise precision, recall and F1 over the foreign departments' records only: every
    true pair among them joins two different files."""
    data = copy / "data"
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        truth = metrics.truth_query(con, data / "ground_truth", "person", DEVELOPMENT_PSEUDONYM_KEY)
        departments = ", ".join(f"'{d}'" for d in FOREIGN_DEPARTMENTS)
        precision, recall, f1, _, records = metrics.pairwise_scores(
            con,
            "(select m.person_record_id as record_id, m.person_key as cluster "
            "from linkage.person_matches as m inner join intermediate.int_person_records_unioned "
            "as r using (person_record_id) "
            f"where r.department in ({departments}))",
            truth,
        )
    assert records > 0
    return precision, recall, f1


def test_the_foreign_departments_alone_link_at_f1_0_99(tmp_path: Path) -> None:
    copy = _copy_with_foreign_contracts(tmp_path)
    _cli(copy, "onboard")
    _cli(copy, "generate", "--profile", "foreign", "--citizens", "5000", "--no-progress")
    _cli(copy, "run")
    precision, recall, f1 = _person_metrics(copy)
    assert f1 >= 0.99, f"precision {precision:.4f}, recall {recall:.4f}, F1 {f1:.4f}"


def test_the_foreign_departments_beside_the_demo_link_at_f1_0_98(tmp_path: Path) -> None:
    copy = _copy_with_foreign_contracts(tmp_path)
    _cli(copy, "onboard")
    _cli(copy, "generate", "--citizens", "2000", "--no-progress")
    _cli(copy, "generate", "--profile", "foreign", "--citizens", "3000", "--no-progress")
    _cli(copy, "run")
    precision, recall, f1 = _person_metrics(copy)
    assert f1 >= 0.98, f"precision {precision:.4f}, recall {recall:.4f}, F1 {f1:.4f}"
    precision, recall, f1 = _foreign_scores(copy)
    assert f1 >= 0.99, f"foreign: precision {precision:.4f}, recall {recall:.4f}, F1 {f1:.4f}"
