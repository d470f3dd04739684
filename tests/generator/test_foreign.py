"""Tests of the generator's foreign profile: a fictional country's departments, delivered as
their contracts in expectations/examples/foreign describe them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from orchestration.generator import generate_population
from orchestration.generator.foreign import DELIVERIES, IDENTIFIER_SCHEME

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "expectations" / "examples" / "foreign"
CITIZENS = 2_000
LINKED = ("revenue/taxpayers", "health/patients")


@pytest.fixture(scope="module")
def messy(tmp_path_factory) -> Path:
    """The foreign profile with the default mess."""
    path = tmp_path_factory.mktemp("foreign_messy")
    generate_population(path, citizens=CITIZENS, seed=5, profile="foreign")
    return path


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    """The same population and records with no mess (only each department's conventions)."""
    path = tmp_path_factory.mktemp("foreign_clean")
    generate_population(path, citizens=CITIZENS, seed=5, messiness=0.0, profile="foreign")
    return path


def _contract(dataset: str) -> dict:
    with (CONTRACTS / f"{dataset}.yaml").open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _custom(entries: list[dict]) -> dict:
    return {entry["property"]: entry["value"] for entry in entries}


def _file(data_dir: Path, dataset: str) -> Path:
    files = sorted((data_dir / _contract(dataset)["servers"][0]["path"]).iterdir())
    assert len(files) == 1, files
    return files[0]


def _read(data_dir: Path, dataset: str) -> pd.DataFrame:
    return pd.read_csv(_file(data_dir, dataset), dtype=str, keep_default_na=False).replace("", None)


def _column(dataset: str, attribute: str) -> str:
    """The delivered header of the column a contract maps to a standard attribute."""
    (header,) = [
        p["physicalName"]
        for p in _contract(dataset)["schema"][0]["properties"]
        if _custom(p["customProperties"])["standardAttribute"] == attribute
    ]
    return header


def _digests(data_dir: Path) -> dict[str, str]:
    return {
        p.relative_to(data_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(data_dir.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_identical_files_and_other_seed_differs(tmp_path: Path) -> None:
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        generate_population(tmp_path / name, citizens=500, seed=seed, profile="foreign")
    first, again, other = (_digests(tmp_path / n) for n in "abc")
    assert len(first) == len(DELIVERIES) + 3
    assert first == again
    assert first.keys() == other.keys()
    assert all(first[k] != other[k] for k in first)


def test_every_delivery_has_a_contract_and_no_other_contract_exists() -> None:
    contracts = {p.relative_to(CONTRACTS).with_suffix("").as_posix() for p in CONTRACTS.rglob("*")}
    contracts = {c for c in contracts if "/" in c}
    assert contracts == {spec.key for spec in DELIVERIES}


@pytest.mark.parametrize("dataset", [spec.key for spec in DELIVERIES])
def test_files_have_exactly_the_contract_headers(messy: Path, dataset: str) -> None:
    with _file(messy, dataset).open(encoding="utf-8") as handle:
        header = handle.readline().rstrip("\n").split(",")
    properties = _contract(dataset)["schema"][0]["properties"]
    assert header == [p["physicalName"] for p in properties]
    assert _contract(dataset)["servers"][0]["format"] == "csv"


@pytest.mark.parametrize("dataset", [spec.key for spec in DELIVERIES])
def test_contracts_use_the_foreign_vocabulary(dataset: str) -> None:
    contract = _contract(dataset)
    custom = _custom(contract["customProperties"])
    assert custom["country"] == "XX"
    assert 0 < custom["expectedLinkRate"] <= 1
    columns = {
        p["physicalName"]: (p, _custom(p["customProperties"]))
        for p in contract["schema"][0]["properties"]
    }
    attributes = [c["standardAttribute"] for _, c in columns.values()]
    assert "person.nino" not in attributes and "person.nhs_number" not in attributes
    for required in (
        "record.id", "person.given_name", "person.family_name", "person.date_of_birth",
        "address.postal_code", "address.house_number", "address.street", "address.locality",
        "address.region", "none",
    ):  # fmt: skip
        assert required in attributes, required
    (dob,) = [(p, c) for p, c in columns.values() if c["standardAttribute"].endswith("birth")]
    assert dob[0]["logicalTypeOptions"]["format"] == "yyyymmdd"
    assert dob[1]["onInvalid"] == "null"
    identifiers = [c for _, c in columns.values() if c["standardAttribute"] == "person.identifier"]
    assert all(c["identifierScheme"] == IDENTIFIER_SCHEME for c in identifiers)
    assert len(identifiers) == (0 if dataset == "transport/licence_holders" else 1)


def test_ground_truth_has_one_true_link_per_citizen_between_the_two_files(messy: Path) -> None:
    truth = pd.read_parquet(messy / "ground_truth" / "foreign" / "person_records.parquet")
    pairs = truth[truth.department == "revenue"].merge(
        truth[truth.department == "health"], on="citizen_id"
    )
    assert len(pairs) == CITIZENS
    assert not truth.duplicated(["dataset", "citizen_id"]).any()
    manifest = json.loads((messy / "ground_truth" / "foreign" / "manifest.json").read_text())
    assert manifest["profile"] == "foreign"
    assert manifest["citizens"] == CITIZENS


@pytest.mark.parametrize("dataset", [spec.key for spec in DELIVERIES])
def test_every_record_has_one_truth_row(messy: Path, dataset: str) -> None:
    department, name = dataset.split("/")
    truth = pd.read_parquet(messy / "ground_truth" / "foreign" / "person_records.parquet")
    truth = truth[(truth.department == department) & (truth.dataset == name)]
    ids = _read(messy, dataset)[_column(dataset, "record.id")]
    assert ids.is_unique
    assert sorted(ids) == sorted(truth.record_id)


def test_foreign_conventions(messy: Path) -> None:
    citizens = pd.read_parquet(messy / "ground_truth" / "foreign" / "citizens.parquet")
    for dataset in LINKED:
        frame = _read(messy, dataset)
        dob = frame[_column(dataset, "person.date_of_birth")]
        assert dob.dropna().str.fullmatch(r"[0-9]{8}").all()
        parsed = pd.to_datetime(dob, format="%Y%m%d", errors="coerce")
        impossible = parsed.isna() & dob.notna()
        assert 0 < impossible.sum() < 0.05 * len(frame), dataset
        assert 0 < dob.isna().sum() < 0.05 * len(frame), dataset
        postal = frame[_column(dataset, "address.postal_code")].dropna()
        assert postal.str.fullmatch(r"[0-9]{4}").all()
        assert postal.str.startswith("0").any()
        ssn = frame[_column(dataset, "person.identifier")]
        assert ssn.dropna().str.fullmatch(r"[0-9]{9}").all()
        assert 0 < ssn.isna().mean() < 0.25, dataset
        mistyped = ~ssn.dropna().isin(citizens.ssn)
        assert 0 < mistyped.sum() < 0.05 * len(frame), dataset
    revenue = _read(messy, "revenue/taxpayers")
    names = revenue[_column("revenue/taxpayers", "person.family_name")].dropna()
    assert (names == names.str.upper()).all() and names.map(str.isascii).all()


def test_every_health_field_is_corrupted_but_most_values_survive(messy: Path, clean: Path) -> None:
    dataset = "health/patients"
    key = _column(dataset, "record.id")
    spoilt = _read(messy, dataset).set_index(key)
    tidy = _read(clean, dataset).set_index(key)
    assert spoilt.index.equals(tidy.index)
    for column in tidy.columns:
        changed = (spoilt[column].fillna("<none>") != tidy[column].fillna("<none>")).mean()
        assert 0 < changed < 0.4, (column, changed)


def test_clean_files_agree_with_the_truth(clean: Path) -> None:
    citizens = pd.read_parquet(clean / "ground_truth" / "foreign" / "citizens.parquet").set_index(
        "citizen_id"
    )
    truth = pd.read_parquet(clean / "ground_truth" / "foreign" / "person_records.parquet")
    dataset = "health/patients"
    frame = _read(clean, dataset).merge(
        truth[truth.department == "health"],
        left_on=_column(dataset, "record.id"),
        right_on="record_id",
    )
    true = citizens.loc[frame.citizen_id]
    assert (frame[_column(dataset, "person.identifier")].to_numpy() == true.ssn.to_numpy()).all()
    dob = pd.to_datetime(frame[_column(dataset, "person.date_of_birth")], format="%Y%m%d")
    assert (dob.to_numpy() == true.date_of_birth.to_numpy()).all()
    assert (frame[_column(dataset, "address.postal_code")].to_numpy() == true.postal_code).all()


def test_uk_profile_is_the_default_and_unknown_profiles_are_refused(tmp_path: Path) -> None:
    summary = generate_population(tmp_path / "uk", citizens=300, seed=1)
    assert summary.profile == "uk"
    assert not {spec.key for spec in DELIVERIES} & set(summary.files)
    manifest = json.loads((tmp_path / "uk" / "ground_truth" / "manifest.json").read_text())
    assert "profile" not in manifest
    with pytest.raises(ValueError, match="unknown profile"):
        generate_population(tmp_path / "x", citizens=10, profile="mars")


def test_both_profiles_in_one_data_directory_keep_their_ground_truth(tmp_path: Path) -> None:
    import duckdb

    from orchestration.linkage import metrics

    generate_population(tmp_path, citizens=300, seed=1)
    generate_population(tmp_path, citizens=200, seed=1, profile="foreign")
    truth_dir = tmp_path / "ground_truth"
    assert set(metrics.truth_files(truth_dir, "person")) == {"uk", "foreign"}
    uk = pd.read_parquet(truth_dir / "person_records.parquet")
    foreign = pd.read_parquet(truth_dir / "foreign" / "person_records.parquet")
    assert "profile" not in json.loads((truth_dir / "manifest.json").read_text())
    assert json.loads((truth_dir / "foreign" / "manifest.json").read_text())["profile"] == (
        "foreign"
    )
    with duckdb.connect() as con:
        table = metrics.truth_query(con, truth_dir, "person", "key")
        records, persons = con.execute(
            f"select count(*), count(distinct entity) from {table}"
        ).fetchone()
    assert records == len(uk) + len(foreign)
    # Citizen 1 of each profile is two different people.
    assert persons == uk.citizen_id.nunique() + foreign.citizen_id.nunique()
