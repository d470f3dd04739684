"""The clerical review loop: export, masked identifiers, import and the CLI."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from orchestration.cli import app
from orchestration.linkage.review import (
    ReviewFileError,
    mask_identifier,
    read_review,
    record_review,
    sample_pairs,
    write_review,
)

KEY = "test-key"
RAW = ("AB123456C", "CD654321A", "9434765919", "dwp:benefit_awards:A1", "hmrc:paye_income:B3")


def _rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _write(path: Path, decisions: list[str]) -> Path:
    rows = [{"pair": i + 1, "reviewer_decision": d} for i, d in enumerate(decisions)]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["pair", "reviewer_decision"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_identifiers_are_masked_like_the_brief():
    assert mask_identifier("AB123456C") == "AB****56C"
    assert mask_identifier("9434765919") == "94*****919"
    assert mask_identifier(None) == "" and mask_identifier("12") == "****"


def test_the_export_takes_the_uncertain_band_with_masked_identifiers(warehouse, tmp_path):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows, band = sample_pairs(con, 5, KEY)
    export = write_review(rows, tmp_path / "review", band)
    assert (band, export.pairs) == ("uncertain", 1)
    (row,) = _rows(export.csv_path)
    assert row["match_probability"] == "0.5" and row["reviewer_decision"] == ""
    assert row["record_l"].startswith("dwp:benefit_awards:") and len(row["record_l"]) == 35
    assert (row["given_name_l"], row["given_name_r"]) == ("JOHN", "JON")
    assert (row["nino_l"], row["nino_r"]) == ("AB****56C", "CD****21A")
    assert (row["match_weight_given_name"], row["match_weight_date_of_birth"]) == ("-1.5", "")
    for path in (export.csv_path, export.html_path):
        text = path.read_text(encoding="utf-8")
        assert not [raw for raw in RAW if raw in text], path
    page = export.html_path.read_text(encoding="utf-8")
    assert "<table>" in page and "http" not in page


def test_without_an_uncertain_band_the_weakest_links_are_sampled(
    warehouse_without_candidates, tmp_path
):
    with duckdb.connect(str(warehouse_without_candidates), read_only=True) as con:
        rows, band = sample_pairs(con, 2, KEY)
    export = write_review(rows, tmp_path / "review", band)
    written = _rows(export.csv_path)
    assert band == "lowest accepted"
    assert [r["match_probability"] for r in written] == ["0.97", "0.99"]
    assert written[0]["nhs_number_l"] == "" and written[0]["match_weight_given_name"] == "2.5"


def test_the_import_computes_reviewed_precision_and_records_it(warehouse, tmp_path):
    outcome = read_review(_write(tmp_path / "r.csv", ["match", "non-match", "unsure", "", "Match"]))
    assert (outcome.reviewed_pairs, outcome.unsure, outcome.undecided) == (3, 1, 1)
    assert outcome.reviewed_precision == pytest.approx(2 / 3)
    with duckdb.connect(str(warehouse)) as con:
        # A metrics table made before the review columns existed gains them.
        con.execute(
            "create schema governance; create table governance.linkage_metrics "
            "(run_id varchar, entity varchar, f1 double)"
        )
        record_review(con, outcome, "review:r.csv")
        assert con.execute(
            "select entity, reviewed_pairs, round(reviewed_precision, 4) "
            "from governance.linkage_metrics where run_id = 'review:r.csv'"
        ).fetchall() == [("person", 3, 0.6667)]


def test_a_bad_decision_is_rejected_naming_file_row_and_field(tmp_path):
    path = _write(tmp_path / "bad.csv", ["match", "yes"])
    with pytest.raises(ReviewFileError) as caught:
        read_review(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: row 3, field reviewer_decision: 'yes'")
    assert "\n" not in message


def test_the_review_commands_export_and_import(data_dir, index_builder):
    index_builder(data_dir / "warehouse.duckdb")
    runner = CliRunner()
    exported = runner.invoke(app, ["linkage", "review", "--sample", "3"])
    assert exported.exit_code == 0, exported.output
    (folder,) = (data_dir / "linkage" / "review").iterdir()
    assert sorted(p.name for p in folder.iterdir()) == ["pairs.csv", "pairs.html"]
    rows = _rows(folder / "pairs.csv")
    assert len(rows) == 1
    rows[0]["reviewer_decision"] = "non-match"
    reviewed = folder / "reviewed.csv"
    with reviewed.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    imported = runner.invoke(app, ["linkage", "review", "--import", str(reviewed)])
    assert imported.exit_code == 0, imported.output
    assert "reviewed precision 0.000" in imported.output
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
        assert con.execute(
            "select reviewed_pairs, reviewed_precision from governance.linkage_metrics"
        ).fetchall() == [(1, 0.0)]

    bad = shutil.copy(reviewed, data_dir / "bad.csv")
    Path(bad).write_text(Path(bad).read_text().replace("non-match", "nope"))
    rejected = runner.invoke(app, ["linkage", "review", "--import", str(bad)])
    assert rejected.exit_code == 1
    assert "bad.csv: row 2, field reviewer_decision: 'nope'" in rejected.output
    Path(bad).write_text(Path(bad).read_text().replace("nope", "unsure"))
    undecided = runner.invoke(app, ["linkage", "review", "--import", str(bad)])
    assert undecided.exit_code == 1 and "no pair is decided" in undecided.output
    both = runner.invoke(app, ["linkage", "review"])
    assert both.exit_code == 2 and "exactly one" in both.output
