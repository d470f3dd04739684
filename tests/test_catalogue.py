"""The catalogue (UK Cross-Government Metadata Exchange Model entries of every published
table) and evidence-based data maturity per department."""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import jsonschema
import pytest

from orchestration import governance
from orchestration.catalogue import (
    ACCESS_RIGHTS,
    CRITERIA,
    HANDLING,
    JSONLD_CONTEXT,
    LEVELS,
    SECURITY_CLASSIFICATIONS,
    UPDATE_FREQUENCIES,
    CatalogueContext,
    CatalogueError,
    ColumnInfo,
    CriterionResult,
    Finding,
    ManifestLineage,
    MaturityInputs,
    PublishedTable,
    assess_maturity,
    build_catalogue,
    build_entry,
    entry_schema,
    jsonld_document,
    level_of,
    published_catalogue_tables,
    read_manifest,
    record_catalogue,
    record_maturity,
    update_frequency,
    validate_entry,
    write_catalogue_files,
)
from orchestration.contracts import load_contracts
from orchestration.privacy import Agreement, load_agreement
from orchestration.project import AGREEMENTS_DIR, CONTRACTS_DIR, ensure_manifest
from orchestration.publish import published_models, published_tables
from orchestration.standards import CLASSIFICATIONS

# The manifest is parsed once here; share a worker with the other dbt users.
pytestmark = pytest.mark.xdist_group("dbt_project")

PUBLISHED_AT = datetime(2026, 4, 5, 6, 30, 15)
TODAY = date(2026, 4, 5)
REQUIRED = entry_schema()["required"]
DISTRIBUTION_REQUIRED = entry_schema()["$defs"]["distribution"]["required"]


# --- the model's vocabulary -------------------------------------------------------------------


def test_the_schema_requires_the_models_fields_and_is_itself_valid():
    jsonschema.Draft202012Validator.check_schema(entry_schema())
    assert set(REQUIRED) >= {
        "identifier",
        "title",
        "description",
        "type",
        "version",
        "modified",
        "licence",
        "accessRights",
        "securityClassification",
        "contactPoint",
        "creator",
        "publisher",
        "updateFrequency",
    }
    assert set(DISTRIBUTION_REQUIRED) == {"identifier", "title", "licence", "mediaType", "type"}
    properties = entry_schema()["properties"]
    assert properties["accessRights"] == {"$ref": "#/$defs/accessRights"}
    assert entry_schema()["$defs"]["accessRights"]["enum"] == list(ACCESS_RIGHTS)
    assert properties["securityClassification"]["enum"] == list(SECURITY_CLASSIFICATIONS)
    assert set(properties["updateFrequency"]["enum"]) == set(UPDATE_FREQUENCIES)


def test_every_contract_classification_maps_to_the_models_controlled_values():
    assert set(HANDLING) == set(CLASSIFICATIONS)
    for handling in HANDLING.values():
        assert handling.security_classification in SECURITY_CLASSIFICATIONS
        assert handling.access_rights in ACCESS_RIGHTS
    assert HANDLING["public"].access_rights == "OPEN"
    assert HANDLING["personal"].handling_caveat == "OFFICIAL-SENSITIVE"
    assert HANDLING["special_category"].security_classification == "OFFICIAL"
    assert HANDLING["official"].licence == "DATA_SHARE_AGREEMENT"


@pytest.mark.parametrize(
    ("days", "term"),
    [
        (1 / 24, "freq:continuous"),
        (1, "freq:daily"),
        (5, "freq:weekly"),
        (7, "freq:weekly"),
        (14, "freq:biweekly"),
        (30, "freq:monthly"),
        (91, "freq:quarterly"),
        (120, "freq:threeTimesAYear"),
        (365, "freq:annual"),
    ],
)
def test_a_delivery_frequency_maps_to_the_nearest_frequency_term(days, term):
    assert update_frequency(days) == term


def test_a_frequency_that_is_not_a_positive_number_is_refused():
    for bad in (0, -7, float("nan"), True):
        with pytest.raises(ValueError, match="positive number of days"):
            update_frequency(bad)


# --- entries from the repository's manifest and contracts ------------------------------------


@pytest.fixture(scope="module")
def manifest_path() -> Path:
    return ensure_manifest()


@pytest.fixture(scope="module")
def repo_contracts():
    return load_contracts(CONTRACTS_DIR)


@pytest.fixture(scope="module")
def agreements():
    return [load_agreement(p) for p in sorted(AGREEMENTS_DIR.glob("*.yaml"))]


@pytest.fixture(scope="module")
def entries(manifest_path, repo_contracts, agreements):
    tables = published_catalogue_tables(manifest_path, repo_contracts)
    ctx = CatalogueContext(
        contracts={c.id: c for c in repo_contracts},
        published_at=PUBLISHED_AT,
        agreements=agreements,
        today=TODAY,
    )
    return {e["dataset"]: e for e in build_catalogue(tables, ctx)}


def test_every_published_table_has_exactly_one_entry_that_meets_the_schema(entries, manifest_path):
    published = {f"{s}.{t}" for s, t in published_tables(published_models(manifest_path))}
    assert set(entries) == published | {"governance.publication"}
    validator = jsonschema.Draft202012Validator(
        entry_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    for dataset, entry in entries.items():
        assert not list(validator.iter_errors(entry)), dataset
        assert entry["type"] == "dataset"
        assert all(d["type"] == "distribution" for d in entry["distribution"])
    assert len({e["identifier"] for e in entries.values()}) == len(entries)


def test_a_conformed_table_is_described_by_the_contract_it_conforms(entries, repo_contracts):
    income = entries["conformed.income"]
    paye = next(c for c in repo_contracts if c.raw_table == "hmrc__paye_income")
    assert income["identifier"] == "urn:commonground:dataset:conformed.income"
    assert income["contactPoint"] == {"contactName": paye.team, "email": paye.owner}
    assert income["creator"] == ["urn:commonground:hmrc"]
    assert income["publisher"] == "urn:commonground"
    assert income["conformsTo"] == [paye.id]
    assert income["updateFrequency"] == update_frequency(paye.frequency_days) == "freq:daily"
    assert paye.classification == "personal"
    assert (income["securityClassification"], income["handlingCaveat"]) == (
        "OFFICIAL",
        "OFFICIAL-SENSITIVE",
    )
    assert (income["accessRights"], income["licence"]) == ("NON-PUBLIC", "DATA_SHARE_AGREEMENT")
    assert income["version"] == "2026-04-05T06:30:15Z" and income["modified"] == "2026-04-05"
    assert {c["name"] for c in income["columns"]} >= {"person_key", "gross_pay"}


def test_disclosure_controlled_marts_are_official_without_the_sensitive_caveat(entries):
    published = entries["marts_warm_homes.fuel_poverty_risk_by_local_authority_published"]
    overlaps = entries["marts_undeclared_income.benefit_income_overlaps"]
    assert "handlingCaveat" not in published
    assert published["securityClassification"] == "OFFICIAL"
    assert overlaps["handlingCaveat"] == "OFFICIAL-SENSITIVE"
    assert published["contactPoint"]["email"] == "warm-homes@desnz.example.gov.uk"


def test_agreements_in_force_become_distributions_and_expired_ones_do_not(entries):
    awards = {d["identifier"] for d in entries["conformed.benefit_awards"]["distribution"]}
    assert "urn:commonground:dataset:conformed.benefit_awards:snapshot" in awards
    assert (
        "urn:commonground:dataset:conformed.benefit_awards:agreement:dwp-undeclared-income-review"
        in awards
    )
    council = [d["identifier"] for d in entries["conformed.council_tax"]["distribution"]]
    assert not any("council-tax-reduction-pilot-2025" in i for i in council)


def test_governance_tables_are_the_platforms_and_leave_out_unpublished_columns(entries):
    registry = entries["governance.contracts"]
    assert registry["creator"] == ["urn:commonground"]
    assert registry["contactPoint"]["email"] == "data-governance@commonground.example.gov.uk"
    assert registry["accessRights"] == "NON-PUBLIC"
    assert "contract_path" not in {c["name"] for c in registry["columns"]}


def test_the_dbt_lineage_reaches_the_contracts_behind_each_table(manifest_path, repo_contracts):
    lineage = ManifestLineage(read_manifest(manifest_path), repo_contracts)
    assert lineage.departments_of("conformed.income") == {"hmrc"}
    assert {"dwp", "hmrc"} <= lineage.departments_of(
        "marts_undeclared_income.benefit_income_overlaps"
    )
    assert lineage.departments_of("nowhere.nothing") == frozenset()


# --- failing loudly ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ctx(repo_contracts):
    return CatalogueContext(
        contracts={c.id: c for c in repo_contracts}, published_at=PUBLISHED_AT, today=TODAY
    )


def _table(**overrides) -> PublishedTable:
    base = PublishedTable(
        schema="conformed",
        name="things",
        kind="model",
        description="Things.",
        columns=(ColumnInfo("thing_key", "varchar", "Key."),),
        meta={"owner": "things@example.gov.uk"},
        quality_dataset="conformed.things",
        sources=("urn:commonground:hmrc:paye_income",),
        primary_sources=("urn:commonground:hmrc:paye_income",),
    )
    return replace(base, **overrides)


def test_a_table_without_a_description_fails_naming_the_dataset_and_field(ctx):
    with pytest.raises(CatalogueError, match=r"conformed\.things.*'description'") as raised:
        build_entry(_table(description=""), ctx)
    assert (raised.value.dataset, raised.value.field) == ("conformed.things", "description")


def test_a_model_fed_by_no_contract_fails_instead_of_guessing_its_classification(ctx):
    with pytest.raises(CatalogueError) as raised:
        build_entry(_table(sources=(), primary_sources=()), ctx)
    assert raised.value.field == "securityClassification"


def test_several_owners_and_no_declared_owner_fail_on_the_contact_point(ctx):
    two = ("urn:commonground:hmrc:paye_income", "urn:commonground:dwp:benefit_awards")
    with pytest.raises(CatalogueError) as raised:
        build_entry(_table(meta={}, sources=two, primary_sources=two), ctx)
    assert raised.value.field == "contactPoint"
    entry = build_entry(_table(sources=two, primary_sources=two), ctx)
    assert entry["contactPoint"] == {
        "contactName": "Things team",
        "email": "things@example.gov.uk",
    }


def test_contracts_naming_different_tenants_fail_on_the_publisher(repo_contracts):
    paye = next(c for c in repo_contracts if c.raw_table == "hmrc__paye_income")
    other = replace(paye, document={**paye.document, "tenant": "elsewhere"})
    mixed = CatalogueContext(
        contracts={paye.id: paye, "urn:x": replace(other, id="urn:x")}, published_at=PUBLISHED_AT
    )
    table = _table(sources=(paye.id, "urn:x"), primary_sources=(paye.id,))
    with pytest.raises(CatalogueError, match="several tenants") as raised:
        build_entry(table, mixed)
    assert raised.value.field == "publisher"
    untenanted = replace(paye, document={k: v for k, v in paye.document.items() if k != "tenant"})
    alone = CatalogueContext(contracts={paye.id: untenanted}, published_at=PUBLISHED_AT)
    with pytest.raises(CatalogueError, match=f"no ODCS tenant in {paye.id}"):
        build_entry(_table(), alone)


def test_an_entry_breaking_the_schema_is_refused_naming_the_field(ctx):
    entry = build_entry(_table(), ctx)
    validate_entry(entry)
    for field in REQUIRED:
        broken = {k: v for k, v in entry.items() if k != field}
        with pytest.raises(CatalogueError, match=field):
            validate_entry(broken)
    bad = copy.deepcopy(entry)
    bad["contactPoint"]["email"] = "not an address"
    with pytest.raises(CatalogueError) as raised:
        validate_entry(bad)
    assert (raised.value.dataset, raised.value.field) == ("conformed.things", "contactPoint.email")
    bad = copy.deepcopy(entry)
    bad["accessRights"] = "INTERNAL"
    with pytest.raises(CatalogueError, match="accessRights"):
        validate_entry(bad)


def test_a_published_table_nothing_documents_fails(manifest_path, repo_contracts):
    with pytest.raises(CatalogueError, match=r"conformed\.mystery"):
        published_catalogue_tables(manifest_path, repo_contracts, ["conformed.mystery"])


# --- files, JSON-LD and the table --------------------------------------------------------------


def _keys(node, found: set[str]) -> set[str]:
    if isinstance(node, list):
        for item in node:
            _keys(item, found)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key.startswith("@"):
                continue
            found.add(key)
            if not (
                isinstance(JSONLD_CONTEXT.get(key), dict) and "@json" in str(JSONLD_CONTEXT[key])
            ):
                _keys(value, found)
    return found


def test_files_index_json_ld_and_table_are_written(tmp_path, ctx):
    entries = build_catalogue([_table(), _table(name="others")], ctx)
    directory = tmp_path / "catalogue"
    (directory / "entries").mkdir(parents=True)
    (directory / "entries" / "conformed.gone.json").write_text("{}")
    files = write_catalogue_files(directory, entries, "Test catalogue")
    assert sorted(p.name for p in (directory / "entries").iterdir()) == [
        "conformed.others.json",
        "conformed.things.json",
    ]
    index = json.loads(files.index.read_text())
    assert [e["dataset"] for e in index["entries"]] == ["conformed.things", "conformed.others"]
    assert json.loads((directory / index["entries"][0]["file"]).read_text()) == entries[0]

    document = json.loads(files.jsonld.read_text())
    context = document["@context"]
    for prefix, iri in {
        "dcat": "http://www.w3.org/ns/dcat#",
        "dct": "http://purl.org/dc/terms/",
        "foaf": "http://xmlns.com/foaf/0.1/",
        "vcard": "http://www.w3.org/2006/vcard/ns#",
    }.items():
        assert context[prefix] == iri
    assert _keys(document, set()) <= set(context), "every key maps to a term"
    node = document["dataset"][0]
    assert node["@type"] == "Dataset" and node["@id"] == entries[0]["identifier"]
    assert node["contactPoint"]["email"].startswith("mailto:")
    assert node["licence"] == "ukgov:DATA_SHARE_AGREEMENT"
    assert jsonld_document(entries, "x")["publisher"]["@type"] == "Organisation"

    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        assert record_catalogue(con, entries, "run-1") == 2
        rows = con.execute(
            "select identifier, dataset, entry, modified, run_id from governance.catalogue "
            "order by dataset"
        ).fetchall()
        columns = [
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'governance' and table_name = 'catalogue' "
                "order by ordinal_position"
            ).fetchall()
        ]
    assert columns == [c.name for c in governance.table("catalogue").columns]
    assert [r[1] for r in rows] == ["conformed.others", "conformed.things"]
    assert json.loads(rows[1][2]) == entries[0] and rows[1][3] == date(2026, 4, 5)


# --- maturity on hand-made warehouses ----------------------------------------------------------


NOW = datetime(2026, 4, 5, 12, 0, tzinfo=UTC)


def test_the_levels_and_criteria_are_defined_once_for_every_level():
    assert LEVELS == {1: "Beginning", 2: "Emerging", 3: "Learning", 4: "Developing", 5: "Mastering"}
    assert {c.level for c in CRITERIA} == set(LEVELS)
    assert len({c.key for c in CRITERIA}) == len(CRITERIA)
    assert [c.level for c in CRITERIA] == sorted(c.level for c in CRITERIA)


def test_a_level_needs_every_criterion_of_the_levels_below_it():
    def results(unmet: set[str]) -> list[CriterionResult]:
        return [CriterionResult(c, Finding(c.key not in unmet, "")) for c in CRITERIA]

    assert level_of(results(set())) == 5
    assert level_of(results({"lineage_complete"})) == 4
    assert level_of(results({"checks_defined"})) == 2
    not_applicable = [
        CriterionResult(
            c, Finding(c.key != "opt_outs_applied", "", {}, c.key != "opt_outs_applied")
        )
        for c in CRITERIA
    ]
    assert level_of(not_applicable) == 5, "a criterion that does not apply counts as met"


class Estate:
    """A hand-made warehouse and contracts folder holding one or more departments."""

    def __init__(self, root: Path, raw_tables: list[str]):
        self.contracts_dir = root / "contracts"
        self.con = duckdb.connect(str(root / "warehouse.duckdb"))
        for raw_table in raw_tables:
            department, dataset = raw_table.split("__")
            target = self.contracts_dir / department / f"{dataset}.yaml"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(CONTRACTS_DIR / department / f"{dataset}.yaml", target)
        self.contracts = {c.raw_table: c for c in load_contracts(self.contracts_dir)}
        for schema in ("raw", "staging", "governance"):
            self.con.execute(f"create schema if not exists {schema}")
        for name in ("ingestion_log", "quality_results", "consent_exclusions", "sharing_log"):
            governance.ensure(self.con, name)
        governance.recreate(self.con, "contracts")
        governance.recreate(self.con, "quality_scorecard")
        for contract in self.contracts.values():
            self.healthy(contract)

    def healthy(self, c) -> None:
        """Everything level 4 asks of one contract's dataset."""
        columns = ", ".join(f'"{col.name}" varchar' for col in c.columns)
        self.con.execute(f"create or replace table raw.{c.raw_table} ({columns})")
        self.con.execute(
            f"create or replace table staging.stg_{c.raw_table} (record_id varchar, x varchar)"
        )
        self.con.execute(
            "insert into governance.contracts (contract_id, version, status, owner, team, "
            "department, dataset, raw_table, classification, format, columns, quality_rules, "
            "legal_basis, purpose, contract_path, contract_sha256) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [c.id, c.version, c.status, c.owner, c.team, c.department, c.dataset, c.raw_table]
            + [c.classification, c.format, len(c.columns), len(c.quality), c.legal_basis]
            + [c.purpose, str(c.path), hashlib.sha256(c.path.read_bytes()).hexdigest()],
        )
        self.deliver(c, NOW - timedelta(hours=12))
        at = (NOW - timedelta(hours=11)).replace(tzinfo=None)
        for check, severity in (("format_drift", "ERROR"), ("delivered_within_sla", "WARN")):
            self.result(c, check, severity, True, at)
        self.con.execute(
            "insert into governance.quality_scorecard (dataset, dimension, checks, checks_passed, "
            "checks_errored, score, target, met, run_id, validated_at) "
            "values (?, 'validity', 1, 1, 0, 100, 98, true, 'run', ?)",
            [f"raw.{c.raw_table}", at],
        )

    def deliver(self, c, when: datetime) -> None:
        self.con.execute(
            "insert into governance.ingestion_log (file_path, file_sha256, department, dataset, "
            "status, rows_in, rows_loaded, rows_quarantined, run_id, loaded_at) "
            "values (?, ?, ?, ?, 'loaded', 1, 1, 0, 'run', ?)",
            [f"{c.department}/{c.dataset}/f", str(when), c.department, c.dataset]
            + [when.astimezone(UTC).replace(tzinfo=None)],
        )

    def result(self, c, check: str, severity: str, success: bool, at: datetime) -> None:
        self.con.execute(
            "insert into governance.quality_results (run_id, validated_at, dataset, check_name, "
            "dimension, severity, success) values ('run', ?, ?, ?, 'validity', ?, ?)",
            [at, f"raw.{c.raw_table}", check, severity, success],
        )

    def trace_everything(self) -> None:
        self.con.execute(
            "create or replace table governance.column_lineage (asset varchar, dataset varchar, "
            "column_name varchar, upstream_asset varchar, upstream_dataset varchar, "
            "upstream_column varchar, kind varchar, run_id varchar, recorded_at timestamp)"
        )
        for c in self.contracts.values():
            for col in c.columns:
                self.con.execute(
                    "insert into governance.column_lineage values (?, ?, ?, ?, ?, ?, 'direct', "
                    "'run', now())",
                    [f"raw/{c.raw_table}", f"raw.{c.raw_table}", col.name, "landing", "landing"]
                    + [col.physical_name],
                )
            for name in ("record_id", "x"):
                self.con.execute(
                    "insert into governance.column_lineage values (?, ?, ?, ?, ?, 'record_id', "
                    "'direct', 'run', now())",
                    [f"staging/stg_{c.raw_table}", f"staging.stg_{c.raw_table}", name]
                    + [f"raw/{c.raw_table}", f"raw.{c.raw_table}"],
                )

    def assess(self, **inputs) -> dict:
        found = assess_maturity(
            self.con, MaturityInputs(contracts_dir=self.contracts_dir, **inputs), NOW
        )
        return {a.department: a for a in found}


@pytest.fixture
def estate(tmp_path):
    built = Estate(tmp_path, ["hmrc__paye_income"])
    yield built
    built.con.close()


def _criterion(assessment, key: str) -> dict:
    return next(c for c in assessment.evidence()["criteria"] if c["criterion"] == key)


def test_a_healthy_department_without_column_lineage_is_at_level_4(estate):
    hmrc = estate.assess()["hmrc"]
    assert hmrc.level == 4
    assert [r.criterion.key for r in hmrc.gaps] == ["lineage_complete"]
    assert _criterion(hmrc, "lineage_complete")["detail"] == (
        "governance.column_lineage does not exist"
    )
    assert _criterion(hmrc, "opt_outs_applied")["applicable"] is False
    assert (hmrc.criteria_met, hmrc.criteria_total) == (9, 10)


def test_a_department_meeting_level_3_but_not_4_because_its_delivery_is_late(estate):
    paye = estate.contracts["hmrc__paye_income"]
    estate.con.execute("delete from governance.ingestion_log")
    estate.deliver(paye, NOW - timedelta(days=10))
    hmrc = estate.assess()["hmrc"]
    assert hmrc.level == 3
    late = _criterion(hmrc, "deliveries_on_time")
    assert late["met"] is False
    assert late["figures"]["paye_income"]["observed"] == (
        "latest delivery 10.0 days old (allowed 4)"
    )
    assert hmrc.evidence()["next_level_needs"] == [
        "Deliveries on time: late or never delivered: paye_income"
    ]


def test_a_dataset_not_yet_due_is_not_held_against_its_department(tmp_path):
    estate = Estate(tmp_path, ["nhs__gp_registrations", "nhs__data_opt_outs"])
    estate.con.execute("delete from governance.ingestion_log where dataset = 'data_opt_outs'")
    nhs = estate.assess()["nhs"]
    assert nhs.level == 4, nhs.evidence()["next_level_needs"]
    assert _criterion(nhs, "deliveries_on_time")["figures"]["not_yet_due"] == ["data_opt_outs"]
    estate.con.execute("delete from governance.ingestion_log")
    nhs = estate.assess()["nhs"]
    assert nhs.level == 1
    assert _criterion(nhs, "data_delivered")["detail"] == "no delivery has been loaded"
    estate.con.close()


def test_a_failing_blocking_check_keeps_a_department_at_level_2(estate):
    paye = estate.contracts["hmrc__paye_income"]
    estate.result(paye, "format_drift", "ERROR", False, datetime(2026, 4, 5, 11, 30))
    hmrc = estate.assess()["hmrc"]
    assert hmrc.level == 2
    assert _criterion(hmrc, "blocking_checks_pass")["figures"]["failed"] == [
        "raw.hmrc__paye_income :: format_drift"
    ]


def test_a_warehouse_built_under_an_older_contract_version_is_not_current(estate):
    estate.con.execute("update governance.contracts set version = '0.9.0'")
    hmrc = estate.assess()["hmrc"]
    assert hmrc.level == 2
    figures = _criterion(hmrc, "contracts_current")["figures"]["urn:commonground:hmrc:paye_income"]
    assert (figures["contract_version"], figures["warehouse_version"]) == ("1.0.0", "0.9.0")


def test_a_contract_failing_lint_leaves_its_department_at_level_1(estate):
    (estate.contracts_dir / "hmrc" / "broken.yaml").write_text("id: [unclosed\n")
    hmrc = estate.assess()["hmrc"]
    assert hmrc.level == 1
    errors = _criterion(hmrc, "contracts_valid")["figures"]["errors"]
    assert list(errors) == ["hmrc/broken.yaml"]


def test_complete_lineage_reaches_level_5_and_one_untraced_column_does_not(estate):
    estate.trace_everything()
    assert estate.assess()["hmrc"].level == 5
    estate.con.execute(
        "delete from governance.column_lineage where dataset = 'staging.stg_hmrc__paye_income' "
        "and column_name = 'x'"
    )
    hmrc = estate.assess()["hmrc"]
    assert hmrc.level == 4
    untraced = _criterion(hmrc, "lineage_complete")["figures"]["untraced"]
    assert untraced == {"count": 1, "first": ["staging.stg_hmrc__paye_income.x"]}


def test_health_data_delivered_after_the_last_opt_out_is_not_level_5(tmp_path):
    estate = Estate(tmp_path, ["nhs__gp_registrations", "nhs__data_opt_outs"])
    estate.trace_everything()
    health = [("nhs", "gp_registrations")]
    estate.con.execute(
        "insert into governance.consent_exclusions (run_id, output, excluded_records, reason, "
        "recorded_at) values ('run', 'conformed.gp_registrations', 3, 'opt-out', ?)",
        [(NOW - timedelta(hours=1)).replace(tzinfo=None)],
    )
    assert estate.assess(health_datasets=health)["nhs"].level == 5
    estate.deliver(estate.contracts["nhs__gp_registrations"], NOW - timedelta(minutes=30))
    nhs = estate.assess(health_datasets=health)["nhs"]
    assert nhs.level == 4
    opt_out = _criterion(nhs, "opt_outs_applied")
    assert opt_out["detail"] == "opt-out not applied since delivery: gp_registrations"
    estate.con.close()


def test_an_extract_made_after_its_agreement_expired_is_not_level_5(estate):
    estate.trace_everything()
    agreement = Agreement(
        id="pilot",
        consumer="A council",
        purpose="p",
        legal_basis="l",
        expires=date(2026, 1, 31),
        datasets={"conformed.income": ["person_key", "gross_pay"]},
    )
    inputs = {"agreements": [agreement], "departments_of": lambda d: {"hmrc"}}
    log = (
        "insert into governance.sharing_log (extract_id, agreement_id, consumer, dataset, "
        "columns, rows, extracted_at) values (?, 'pilot', 'A council', 'conformed.income', ?, "
        "1, ?)"
    )
    estate.con.execute(log, ["e1", "person_key,gross_pay", datetime(2026, 1, 10)])
    assert estate.assess(**inputs)["hmrc"].level == 5
    estate.con.execute(log, ["e2", "person_key", datetime(2026, 2, 3)])
    estate.con.execute(log, ["e3", "person_key,tax_year", datetime(2026, 1, 11)])
    hmrc = estate.assess(**inputs)["hmrc"]
    assert hmrc.level == 4
    assert _criterion(hmrc, "sharing_under_agreements")["figures"]["breaches"] == [
        "e3: conformed.income columns not permitted by pilot",
        "e2: pilot expired 2026-01-31",
    ]


def test_maturity_rows_hold_the_level_counts_and_evidence(estate):
    assessments = list(estate.assess().values())
    assert record_maturity(estate.con, assessments, "run-1") == 1
    assert record_maturity(estate.con, assessments, "run-2") == 1
    rows = estate.con.execute(
        "select department, level, criteria_met, criteria_total, evidence, run_id "
        "from governance.data_maturity order by run_id"
    ).fetchall()
    assert [r[5] for r in rows] == ["run-1", "run-2"], "a history: each assessment appended"
    department, level, met, total, evidence, _ = rows[0]
    assert (department, level, met, total) == ("hmrc", 4, 9, 10)
    evidence = json.loads(evidence)
    assert [c["criterion"] for c in evidence["criteria"]] == [c.key for c in CRITERIA]
    assert evidence["level_name"] == "Developing"


# --- the materialized demo (slow) --------------------------------------------------------------


def _snapshot_tables(data_dir: Path) -> set[str]:
    with duckdb.connect(str(data_dir / "published" / "analytics.duckdb"), read_only=True) as con:
        return {
            f"{s}.{t}"
            for s, t in con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_catalog = current_database()"
            ).fetchall()
        }


def test_the_demo_catalogue_has_one_valid_entry_per_published_table(demo_warehouse):
    data_dir, summary = demo_warehouse
    assert summary.success, summary.failed_steps
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute("select dataset, identifier, entry from governance.catalogue").fetchall()
    datasets = [r[0] for r in rows]
    assert sorted(datasets) == sorted(_snapshot_tables(data_dir)), "exactly one entry each"
    validator = jsonschema.Draft202012Validator(
        entry_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    directory = data_dir / "catalogue"
    index = json.loads((directory / "index.json").read_text())
    assert sorted(e["dataset"] for e in index["entries"]) == sorted(datasets)
    for dataset, identifier, entry in rows:
        on_disk = json.loads((directory / "entries" / f"{dataset}.json").read_text())
        assert on_disk == json.loads(entry)
        assert not list(validator.iter_errors(on_disk)), dataset
        assert on_disk["identifier"] == identifier
    document = json.loads((directory / "catalogue.jsonld").read_text())
    assert {n["@id"] for n in document["dataset"]} == {r[1] for r in rows}


def test_the_demo_departments_levels_follow_from_their_evidence(demo_warehouse):
    data_dir, _ = demo_warehouse
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select department, level, criteria_met, criteria_total, evidence "
            "from governance.data_maturity"
        ).fetchall()
    departments = {p.parent.name for p in CONTRACTS_DIR.glob("*/*.yaml")}
    assert sorted(r[0] for r in rows) == sorted(departments)
    for department, level, met, total, evidence in rows:
        criteria = json.loads(evidence)["criteria"]
        assert [c["criterion"] for c in criteria] == [c.key for c in CRITERIA]
        assert all(c["met"] for c in criteria if c["level"] <= level), department
        if level < 5:
            assert not all(c["met"] for c in criteria if c["level"] == level + 1), department
        assert met == sum(c["met"] and c["applicable"] for c in criteria)
        assert total == sum(c["applicable"] for c in criteria)
        # The demo's deliveries are fresh, owned, checked and published: at least level 4.
        assert level >= 4, (department, [c["detail"] for c in criteria if not c["met"]])
