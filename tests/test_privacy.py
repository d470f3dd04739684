"""Privacy by design: the pseudonym key, no identifiers beyond staging, and consent."""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from orchestration.cli import app
from orchestration.privacy import pseudonym, scan_for_identifiers
from orchestration.settings import DEVELOPMENT_PSEUDONYM_KEY, MissingSecretError, get_settings


def test_production_refuses_to_start_without_a_pseudonym_key(monkeypatch, data_dir):
    monkeypatch.setenv("COMMONGROUND_ENV", "production")
    monkeypatch.delenv("COMMONGROUND_PSEUDONYM_KEY", raising=False)
    with pytest.raises(MissingSecretError, match="COMMONGROUND_PSEUDONYM_KEY"):
        get_settings()
    result = CliRunner().invoke(app, ["prepare"])
    assert result.exit_code == 2
    assert "COMMONGROUND_PSEUDONYM_KEY" in result.output

    strong = "5ec2e7" * 10 + "0123"  # 64 hex characters: production refuses weak keys
    monkeypatch.setenv("COMMONGROUND_PSEUDONYM_KEY", strong)
    settings = get_settings()
    assert settings.pseudonym_key == strong
    assert settings.dbt_env()["COMMONGROUND_PSEUDONYM_KEY"] == strong
    assert strong not in repr(settings)


def test_development_uses_the_development_key_with_a_warning(monkeypatch, caplog, data_dir):
    from orchestration import settings as settings_module

    monkeypatch.delenv("COMMONGROUND_ENV", raising=False)
    monkeypatch.delenv("COMMONGROUND_PSEUDONYM_KEY", raising=False)
    settings_module._warn_development_key.cache_clear()
    with caplog.at_level(logging.WARNING):
        settings = get_settings()
    assert settings.pseudonym_key == DEVELOPMENT_PSEUDONYM_KEY
    assert settings.pseudonym_key_is_development
    assert any("COMMONGROUND_PSEUDONYM_KEY is not set" in r.message for r in caplog.records)


def _dbt_connection(monkeypatch, key: str | None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection configured by the profile's plugin as dbt configures its own."""
    from orchestration.privacy.dbt_plugin import Plugin

    if key is None:
        monkeypatch.delenv("COMMONGROUND_PSEUDONYM_KEY", raising=False)
    else:
        monkeypatch.setenv("COMMONGROUND_PSEUDONYM_KEY", key)
    con = duckdb.connect()
    Plugin(name="commonground_pseudonyms", plugin_config={}).configure_connection(con)
    return con


def test_dbt_pseudonymises_with_the_key_of_its_environment(monkeypatch):
    con = _dbt_connection(monkeypatch, "a-real-secret")
    monkeypatch.delenv("COMMONGROUND_PSEUDONYM_KEY")
    rows = con.execute(
        "select commonground_pseudonym('nino', v) from (values ('AB123456C'), (null)) as t(v)"
    ).fetchall()
    assert rows == [(pseudonym("a-real-secret", "nino", "AB123456C"),), (None,)]


def test_dbt_refuses_to_pseudonymise_without_a_key(monkeypatch):
    con = _dbt_connection(monkeypatch, None)
    with pytest.raises(duckdb.Error, match="COMMONGROUND_PSEUDONYM_KEY"):
        con.execute("select commonground_pseudonym('nino', 'AB123456C')").fetchall()


NOT_CODE_LISTS = "table_schema <> 'reference'"
"""Published tables except the code lists: dbt seeds of public reference values (ethnic
groups, fuels...), whose words ("White", "Green") are also family names."""


def _tables(con, schemas_like: str) -> list[tuple[str, str]]:
    return con.execute(
        "select table_schema, table_name from information_schema.tables "
        f"where table_catalog = current_database() and ({schemas_like})"
    ).fetchall()


def _names(data_dir: Path) -> set[str]:
    rows = duckdb.sql(
        "select distinct upper(given_name), upper(family_name) from read_parquet(?)",
        params=[str(data_dir / "ground_truth" / "citizens.parquet")],
    ).fetchall()
    return {n for row in rows for n in row if n}


def test_the_scan_finds_identifiers_in_a_crafted_table():
    con = duckdb.connect()
    con.execute("create schema conformed").complete()
    con.execute(
        "create table conformed.leaky as select * from (values "
        "('AB 12 34 56 C', 'x', date '1980-01-02'), ('ok', '943 476 5919', date '1980-01-02'),"
        "('ok', '12 Acacia Avenue', date '1980-01-02'), ('PERRY', 'ok', date '1980-01-02')) "
        "as t(a, b, date_of_birth)"
    ).complete()
    hits = scan_for_identifiers(con, [("conformed", "leaky")], names={"PERRY"})
    kinds = {h.split(": ")[1].split(" (")[0] for h in hits}
    assert kinds == {"nino", "nhs_number", "address", "person name", "full date of birth"}


def test_no_conformed_mart_or_published_table_holds_a_direct_identifier(demo_warehouse):
    data_dir, _ = demo_warehouse
    names = _names(data_dir)
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        tables = _tables(con, "table_schema = 'conformed' or table_schema like 'marts%'")
        assert len(tables) >= 10
        hits = scan_for_identifiers(con, tables, names)
        # the scan is live: staging holds the identifiers it looks for
        staged = scan_for_identifiers(con, [("staging", "stg_hmrc__paye_income")], names)
    assert not hits, hits
    assert {h.split(": ")[1].split(" (")[0] for h in staged} >= {"nino", "person name"}
    published = data_dir / "published" / "analytics.duckdb"
    if published.exists():
        with duckdb.connect(str(published), read_only=True) as con:
            assert not scan_for_identifiers(con, _tables(con, NOT_CODE_LISTS), names)


def test_the_pseudonym_key_is_stored_in_no_view_or_table_definition(demo_warehouse):
    data_dir, _ = demo_warehouse
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        views = con.execute("select sql from duckdb_views() where not internal").fetchall()
        staging = con.execute(
            "select table_type from information_schema.tables where table_schema = 'staging'"
        ).fetchall()
    assert not [sql for (sql,) in views if DEVELOPMENT_PSEUDONYM_KEY in (sql or "")]
    assert staging and {t for (t,) in staging} == {"BASE TABLE"}


def test_python_pseudonyms_equal_the_dbt_macros(demo_warehouse):
    data_dir, _ = demo_warehouse
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select nino, nino_pseudonym from staging.stg_hmrc__paye_income "
            "where nino is not null limit 20"
        ).fetchall()
    assert rows
    for nino, expected in rows:
        assert pseudonym(DEVELOPMENT_PSEUDONYM_KEY, "nino", nino) == expected


def test_opted_out_patients_leave_every_health_output_and_are_counted(demo_warehouse):
    data_dir, summary = demo_warehouse
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        opted_out_registrations = con.execute(
            "select registration_id from staging.stg_nhs__gp_registrations where nhs_number in "
            "(select nhs_number from staging.stg_nhs__data_opt_outs)"
        ).fetchall()
        opt_outs = con.execute("select count(*) from staging.stg_nhs__data_opt_outs").fetchall()
        # the conformed layer keeps only keyed pseudonyms of the departments' record ids
        registration_keys = [
            pseudonym(DEVELOPMENT_PSEUDONYM_KEY, "registration_id", r)
            for (r,) in opted_out_registrations
        ]
        record_keys = [
            pseudonym(DEVELOPMENT_PSEUDONYM_KEY, "person_record_id", f"nhs:gp_registrations:{r}")
            for (r,) in opted_out_registrations
        ]
        leaked = con.execute(
            "select count(*) from conformed.gp_registrations "
            "where registration_key in (select unnest(?::varchar[]))",
            [registration_keys],
        ).fetchall()[0][0]
        in_index = con.execute(
            "select count(*) from conformed.person_records where dataset = 'data_opt_outs' "
            "or person_record_key in (select unnest(?::varchar[]))",
            [record_keys],
        ).fetchall()[0][0]
        log = dict(
            con.execute(
                "select output, excluded_records from governance.consent_exclusions "
                "where run_id = ?",
                [summary.run_id],
            ).fetchall()
        )
    assert len(opted_out_registrations) > 0, "the sample has opted-out patients"
    assert leaked == 0 and in_index == 0
    assert log["linkage.person_matches"] == opt_outs[0][0] + len(opted_out_registrations)
    assert log["conformed.gp_registrations"] == len(opted_out_registrations)


def test_the_scan_checks_nhs_check_digits_every_column_and_delivered_values():
    con = duckdb.connect()
    con.execute("create schema marts_x").complete()
    con.execute(
        "create table marts_x.t as select * from (values "
        "('943 476 5919', 9434765919, 'nhs:gp_registrations:REG000000042', 'x'),"
        "('943 476 5918', 9434765918, 'REG0000000421', 'FLAT 3, 1 WALTON DRIVE'),"
        "('ok', 1, 'ok', '19 reed avenue ')) as t(text_nhs, number_nhs, record, line)"
    ).complete()
    values = {"record id": ["REG000000042"], "address line": ["19 Reed Avenue"]}
    hits = set(scan_for_identifiers(con, [("marts_x", "t")], values=values))
    assert hits == {
        "marts_x.t.text_nhs: nhs_number (1 values)",
        "marts_x.t.number_nhs: nhs_number (1 values)",
        "marts_x.t.record: record id (1 values)",
        "marts_x.t.line: address (2 values)",
        "marts_x.t.line: address line (1 values)",
    }
    public = scan_for_identifiers(con, [("marts_x", "t")], public_columns={"number_nhs"})
    assert not [h for h in public if ".number_nhs:" in h]


RAW_VALUE_ATTRIBUTES = {
    "person name": {
        "person.given_name",
        "person.family_name",
        "related_person.given_name",
        "related_person.family_name",
    },
    "address line": {"address.line", "address.text"},
    "record id": {"record.id", "organisation.paye_reference"},
}
"""Standard attributes whose delivered values must never reach the published snapshot (a
record id only when its contract does not classify it public)."""


def _raw_values(con, contracts) -> tuple[dict[str, set[str]], set[str]]:
    """Every delivered value of the identifying raw columns, by kind, and the public columns."""
    values: dict[str, set[str]] = {kind: set() for kind in RAW_VALUE_ATTRIBUTES}
    public = set()
    for contract in contracts.values():
        for column in contract.columns:
            if column.classification == "public":
                public.add(column.name)
                continue
            for kind, attributes in RAW_VALUE_ATTRIBUTES.items():
                if column.standard_attribute not in attributes:
                    continue
                rows = con.execute(
                    f'select distinct upper(trim(cast("{column.name}" as varchar))) '
                    f'from raw.{contract.raw_table} where "{column.name}" is not null'
                ).fetchall()
                # a name of one or two letters (an initial) is not identifying on its own
                values[kind] |= {v for (v,) in rows if len(v) >= 3}
    return values, public


def test_no_published_column_holds_a_delivered_identifier(demo_warehouse, contracts):
    data_dir, _ = demo_warehouse
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        values, public = _raw_values(con, contracts)
        # the scan is live: the raw tables hold every kind it looks for
        raw = scan_for_identifiers(
            con, [("raw", "dwp__benefit_awards"), ("raw", "hmrc__paye_income")], values=values
        )
    assert all(len(v) > 100 for v in values.values()), {k: len(v) for k, v in values.items()}
    assert {h.split(": ")[1].split(" (")[0] for h in raw} >= {
        "nino",
        "person name",
        "address line",
        "record id",
    }
    published = data_dir / "published" / "analytics.duckdb"
    with duckdb.connect(str(published), read_only=True) as con:
        tables = _tables(con, NOT_CODE_LISTS)
        assert len(tables) >= 15
        hits = scan_for_identifiers(con, tables, values=values, public_columns=public)
    assert not hits, hits
