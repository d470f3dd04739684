"""When the person model is retrained: the records it was trained on have shifted."""

import duckdb

from orchestration.linkage.profile import (
    load_profile,
    records_profile,
    save_profile,
    shift,
)

TRAINED = {"records": 1000, "completeness": {"date_of_birth": 0.9, "nino": 0.4}}


def test_records_that_look_alike_keep_the_model():
    assert (
        shift(TRAINED, {"records": 1400, "completeness": {"date_of_birth": 0.85, "nino": 0.45}})
        is None
    )


def test_many_more_or_fewer_records_retrain_it():
    assert "from 1,000 to 1,600" in shift(TRAINED, {**TRAINED, "records": 1600})
    assert "from 1,000 to 400" in shift(TRAINED, {**TRAINED, "records": 400})


def test_an_attribute_much_more_or_less_complete_retrains_it():
    moved = {"records": 1000, "completeness": {"date_of_birth": 0.75, "nino": 0.4}}
    assert "date_of_birth went from 90.0% to 75.0%" in shift(TRAINED, moved)


def test_a_model_stored_without_a_profile_is_kept():
    assert shift({}, {"records": 5, "completeness": {}}) is None


def test_the_profile_counts_linked_records_and_is_stored_beside_the_model(tmp_path):
    con = duckdb.connect()
    con.execute(
        "create table person_source as select * from (values "
        "('a', date '2000-01-01', false), ('b', null, false), ('c', null, true)) "
        "as t(person_record_id, date_of_birth, _excluded)"
    )
    profile = records_profile(con, {"date_of_birth"})
    assert profile == {"records": 2, "completeness": {"date_of_birth": 0.5}}
    model = tmp_path / "person-20261202.json"
    save_profile(model, profile)
    assert load_profile(model) == profile
    assert [p.name for p in tmp_path.glob("*.json")] == [], "a profile must not pass for a model"
