"""Tests of the synthetic sample-data generator."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml
from python_calamine import CalamineWorkbook

from orchestration.generator import generate_population
from orchestration.generator.identifiers import nhs_number_is_valid

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "expectations" / "contracts"
NINO = re.compile(r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]")
POSTCODE = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][ABD-HJLNP-UW-Z]{2}")
DATASETS = [
    "hmrc/paye_income",
    "dwp/benefit_awards",
    "nhs/gp_registrations",
    "nhs/data_opt_outs",
    "dluhc/energy_certificates",
    "council/council_tax",
    "dfe/school_census",
]
PRIMARY_KEY = {
    "hmrc/paye_income": "RECORD_ID",
    "dwp/benefit_awards": "award_id",
    "nhs/gp_registrations": "registration_id",
    "nhs/data_opt_outs": "nhs_number",
    "dluhc/energy_certificates": "LMK_KEY",
    "council/council_tax": "Account Reference",
    "dfe/school_census": "UPN",
}


@pytest.fixture(scope="module")
def messy(tmp_path_factory) -> Path:
    """A small population generated with the default mess."""
    path = tmp_path_factory.mktemp("messy")
    generate_population(path, citizens=3000, seed=7, messiness=1.0)
    return path


@pytest.fixture(scope="module")
def very_messy(tmp_path_factory) -> Path:
    """A small population with five times the default mess, so every kind shows up."""
    path = tmp_path_factory.mktemp("very_messy")
    generate_population(path, citizens=3000, seed=7, messiness=5.0)
    return path


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    """A small population generated with no mess at all."""
    path = tmp_path_factory.mktemp("clean")
    generate_population(path, citizens=3000, seed=7, messiness=0.0)
    return path


def _contract(dataset: str) -> dict:
    with (CONTRACTS / f"{dataset}.yaml").open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _file(data_dir: Path, dataset: str) -> Path:
    server = _contract(dataset)["servers"][0]
    files = sorted((data_dir / server["path"]).iterdir())
    assert len(files) == 1, files
    return files[0]


def _read(data_dir: Path, dataset: str) -> pd.DataFrame:
    """Reads a landing file with DuckDB's own readers (calamine for Excel), all as text."""
    path = _file(data_dir, dataset)
    fmt = _contract(dataset)["servers"][0]["format"]
    if fmt == "xlsx":
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
        return pd.DataFrame(rows[1:], columns=rows[0])
    reader = {
        "csv": "read_csv(?, all_varchar = true)",
        "json": "read_json(?, format = 'newline_delimited')",
        "parquet": "read_parquet(?)",
    }[fmt]
    with duckdb.connect() as con:
        return con.execute(f"select * from {reader}", [str(path)]).df()


def _hashes(data_dir: Path) -> dict[str, str]:
    return {
        p.relative_to(data_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(data_dir.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_identical_files_and_other_seed_differs(tmp_path: Path) -> None:
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        generate_population(tmp_path / name, citizens=500, seed=seed)
    a, b, c = (_hashes(tmp_path / n) for n in "abc")
    assert len(a) >= 15
    assert a == b
    landing = [k for k in a if k.startswith("landing/")]
    assert all(a[k] != c[k] for k in landing)


@pytest.mark.parametrize("dataset", DATASETS)
def test_landing_files_have_exactly_the_contract_columns(messy: Path, dataset: str) -> None:
    expected = [p["physicalName"] for p in _contract(dataset)["schema"][0]["properties"]]
    frame = _read(messy, dataset)
    assert list(frame.columns) == expected
    assert len(frame) > 0


def test_hmrc_conventions(messy: Path) -> None:
    paye = _read(messy, "hmrc/paye_income")
    assert paye["NINO"].str.fullmatch(r"[A-Z]{2} \d{2} \d{2} \d{2} [A-D]").all()
    assert paye["GROSS_PAY"].str.fullmatch(r"£\d{1,3}(,\d{3})*\.\d{2}").all()
    assert (paye["FORENAMES"] == paye["FORENAMES"].str.upper()).all()
    assert paye["PERIOD_START"].str.fullmatch(r"\d{2}/\d{2}/\d{4}").all()
    start = pd.to_datetime(paye["PERIOD_START"], format="%d/%m/%Y")
    end = pd.to_datetime(paye["PERIOD_END"], format="%d/%m/%Y")
    assert (start >= "2025-04-06").all() and (end <= "2026-04-05").all() and (start <= end).all()
    assert paye["EMPLOYER_PAYE_REF"].str.fullmatch(r"\d{3}/[A-Z]{2}\d{5}").all()
    assert (paye["TAX_YEAR"] == "2025-26").all()
    raw = _file(messy, "hmrc/paye_income").read_text(encoding="utf-8")
    assert '"£' in raw


def test_dwp_ndjson_conventions(messy: Path) -> None:
    lines = _file(messy, "dwp/benefit_awards").read_text(encoding="utf-8").splitlines()
    awards = pd.DataFrame([json.loads(line) for line in lines])
    assert awards["nino"].str.fullmatch(r"[A-Z]{2}\d{6}[A-D]").all()
    assert awards["weekly_amount"].map(lambda v: isinstance(v, float | int)).all()
    assert set(awards["benefit_type"]) <= {"UC", "PC", "PIP", "ESA", "JSA", "HB", "CA", "AA", "SP"}
    assert awards["award_end"].isna().any()
    age = (pd.Timestamp("2026-04-05") - pd.to_datetime(awards["date_of_birth"])).dt.days / 365.25
    assert (age[awards["benefit_type"].isin(["SP", "PC", "AA"])] >= 65).all()
    assert (awards["first_name"].str[0] == awards["first_name"].str[0].str.upper()).all()


def test_nhs_numbers_pass_mod11_except_the_deliberately_invalid_share(messy: Path) -> None:
    registrations = _read(messy, "nhs/gp_registrations")
    assert registrations["nhs_number"].str.fullmatch(r"\d{10}").all()
    valid = nhs_number_is_valid(registrations["nhs_number"].to_numpy())
    assert 0.98 < valid.mean() < 1.0
    assert set(registrations["sex_code"]) <= {1, 2, 9}
    assert pd.api.types.is_datetime64_any_dtype(registrations["date_of_birth"])
    opt_outs = _read(messy, "nhs/data_opt_outs")
    assert opt_outs["nhs_number"].is_unique
    assert 0.01 < len(opt_outs) / len(registrations) < 0.06


def test_known_nhs_number_checks() -> None:
    assert nhs_number_is_valid(np.array(["9434765919"])).all()
    assert not nhs_number_is_valid(np.array(["9434765918"])).any()


def test_epc_council_and_school_conventions(messy: Path) -> None:
    epc = _read(messy, "dluhc/energy_certificates")
    shares = epc["CURRENT_ENERGY_RATING"].value_counts(normalize=True)
    assert 0.3 < shares["D"] < 0.5 and shares.get("G", 0) < 0.06
    compact = epc["POSTCODE"].str.upper().str.replace(" ", "")
    assert compact.str.fullmatch(r"[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}").all()
    assert not epc["POSTCODE"].str.fullmatch(POSTCODE.pattern).all()
    council = _read(messy, "council/council_tax")
    assert set(council["Band"]) <= set("ABCDEFGH")
    starts = council["Liability Start"]
    assert starts.map(lambda v: hasattr(v, "year")).mean() > 0.9
    assert set(council["Single Person Discount"]) <= {"Y", "N"}
    pupils = _read(messy, "dfe/school_census")
    assert pupils["UPN"].str.fullmatch(r"[A-Z]\d{12}").all()
    assert pupils["DOB"].str.contains("/").any() and pupils["DOB"].str.contains("-").any()
    assert pupils["SchoolURN"].str.fullmatch(r"\d{6}").all()
    assert set(pupils["FSMEligible"]) == {"true", "false"}


def test_clean_population_has_no_mess(clean: Path) -> None:
    paye = _read(clean, "hmrc/paye_income")
    assert paye["NINO"].str.replace(" ", "").str.fullmatch(NINO.pattern).all()
    assert paye.notna().all().all()
    awards = _read(clean, "dwp/benefit_awards")
    assert awards["nino"].str.fullmatch(NINO.pattern).all()
    assert awards.drop(columns="award_end").notna().all().all()
    registrations = _read(clean, "nhs/gp_registrations")
    assert nhs_number_is_valid(registrations["nhs_number"].to_numpy()).all()
    assert registrations.notna().all().all()
    assert registrations["postcode"].str.fullmatch(POSTCODE.pattern).all()
    epc = _read(clean, "dluhc/energy_certificates")
    assert epc["LMK_KEY"].is_unique and epc.notna().all().all()
    assert epc["POSTCODE"].str.fullmatch(POSTCODE.pattern).all()
    pupils = _read(clean, "dfe/school_census")
    assert pupils.notna().all().all()
    council = _read(clean, "council/council_tax")
    assert council["Liability Start"].map(lambda v: hasattr(v, "year")).all()
    truth = pd.read_parquet(clean / "ground_truth" / "person_records.parquet")
    nhs = truth[truth["dataset"] == "gp_registrations"]
    assert nhs["citizen_id"].is_unique


def test_messy_population_has_each_kind_of_mess(very_messy: Path) -> None:
    awards = _read(very_messy, "dwp/benefit_awards")
    assert not awards["nino"].str.fullmatch(NINO.pattern).all()
    assert awards["uprn"].isna().any()
    epc = _read(very_messy, "dluhc/energy_certificates")
    assert not epc["LMK_KEY"].is_unique
    truth = pd.read_parquet(very_messy / "ground_truth" / "person_records.parquet")
    nhs = truth[truth["dataset"] == "gp_registrations"]
    assert not nhs["citizen_id"].is_unique
    council = _read(very_messy, "council/council_tax")
    assert council["Liability Start"].map(lambda v: isinstance(v, str)).any()


def test_every_landing_record_has_a_truth_row(messy: Path) -> None:
    truth_dir = messy / "ground_truth"
    persons = pd.read_parquet(truth_dir / "person_records.parquet")
    places = pd.read_parquet(truth_dir / "property_records.parquet")
    citizens = pd.read_parquet(truth_dir / "citizens.parquet")
    properties = pd.read_parquet(truth_dir / "properties.parquet")
    assert persons["citizen_id"].isin(citizens["citizen_id"]).all()
    assert places["property_id"].isin(properties["property_id"]).all()
    for dataset in DATASETS:
        department, name = dataset.split("/")
        ids = set(_read(messy, dataset)[PRIMARY_KEY[dataset]].astype(str))
        for frame in (persons, places):
            rows = frame[(frame["department"] == department) & (frame["dataset"] == name)]
            if len(rows):
                assert ids == set(rows["record_id"]), dataset
        has_person = persons[(persons["dataset"] == name)]
        assert len(has_person) or dataset == "dluhc/energy_certificates"


def test_ground_truth_files_and_mission_answers(messy: Path) -> None:
    truth_dir = messy / "ground_truth"
    for name in (
        "citizens.parquet",
        "properties.parquet",
        "local_authorities.csv",
        "expected_warm_homes.csv",
        "expected_undeclared_income.csv",
        "manifest.json",
    ):
        assert (truth_dir / name).is_file(), name
    citizens = pd.read_parquet(truth_dir / "citizens.parquet")
    assert len(citizens) == 3000 and citizens["nhs_number"].is_unique
    assert citizens["nino"].dropna().is_unique
    authorities = pd.read_csv(truth_dir / "local_authorities.csv")
    assert len(authorities) == 20
    warm = pd.read_csv(truth_dir / "expected_warm_homes.csv")
    assert set(warm["local_authority_code"]) <= set(authorities["gss_code"])
    assert (warm["homes_rated_e_to_g"] <= warm["homes_with_certificate"]).all()
    assert (warm["homes_e_to_g_income_related"] <= warm["homes_rated_e_to_g"]).all()
    assert warm["homes_e_to_g_income_related"].sum() > 0
    undeclared = pd.read_csv(truth_dir / "expected_undeclared_income.csv")
    awards = _read(messy, "dwp/benefit_awards")
    income_related = awards["benefit_type"].isin(["UC", "PC", "ESA", "JSA", "HB"]).sum()
    assert 0.005 < len(undeclared) / income_related < 0.05
    assert (undeclared["overlapping_gross_pay"] > 2500).all()
    manifest = json.loads((truth_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == 7 and manifest["citizens"] == 3000
    paye = manifest["files"]["landing/hmrc/paye_income/paye_income_2025-26.csv"]
    assert paye["rows"] == len(_read(messy, "hmrc/paye_income"))
