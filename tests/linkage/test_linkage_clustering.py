"""Clustering forgives a typo in a date of birth when the rest of the evidence is strong,
never joins two values of an identifier, and keeps parents and children of the same name
at the same address apart."""

from __future__ import annotations

import duckdb

from orchestration import linkage


def _clusters(records: list[tuple], links: list[tuple]) -> tuple[dict[str, int], int]:
    """Clusters ``records`` (id, date of birth, NINO, social security pseudonym) by ``links``
    (left, right, match weight, date-of-birth match weight)."""
    con = duckdb.connect()
    con.execute(
        "create table person_input (person_record_id varchar, date_of_birth date, "
        "nino varchar, nhs_number varchar, upn_pseudonym varchar, "
        "identifier_xx_social_security_pseudonym varchar)"
    ).complete()
    con.executemany("insert into person_input values (?, ?, ?, null, null, ?)", records).complete()
    con.execute(
        "create table person_links (person_record_id_l varchar, person_record_id_r varchar, "
        "match_weight double, match_weight_date_of_birth double)"
    ).complete()
    con.executemany("insert into person_links values (?, ?, ?, ?)", links).complete()
    refused = linkage.cluster_links(con, threshold=0.9)
    return dict(con.execute("select * from person_clusters").fetchall()), refused


def test_a_one_digit_typo_in_the_year_of_birth_is_forgiven_on_strong_evidence():
    clusters, refused = _clusters(
        [("a", "1980-02-03", None, None), ("b", "1990-02-03", None, None)],
        [("a", "b", 12.0, -6.0)],
    )
    assert clusters["a"] == clusters["b"], "18 bits without the date of birth: one person"
    assert refused == 0


def test_a_transposed_year_is_forgiven_when_the_records_share_an_identifier():
    clusters, _ = _clusters(
        [("a", "1985-02-03", None, "S1"), ("b", "1958-02-03", None, "S1")],
        [("a", "b", 4.0, 2.0)],
    )
    assert clusters["a"] == clusters["b"]


def test_a_typo_in_the_year_is_not_forgiven_on_weak_evidence():
    clusters, refused = _clusters(
        [("a", "1980-02-03", None, None), ("b", "1990-02-03", None, None)],
        [("a", "b", 4.0, 2.0)],
    )
    assert clusters["a"] != clusters["b"], "2 bits without the date of birth is not enough"
    assert refused == 1


def test_two_different_identifiers_are_not_joined_on_ordinary_evidence():
    clusters, refused = _clusters(
        [
            ("a", "1980-02-03", None, "S1"),
            ("b", "1980-02-03", None, "S2"),
            ("c", "1980-02-03", "AB123456C", None),
            ("d", "1980-02-03", "CD123456A", None),
        ],
        [("a", "b", 30.0, 5.0), ("c", "d", 30.0, 5.0)],
    )
    assert clusters["a"] != clusters["b"], "two social security numbers"
    assert clusters["c"] != clusters["d"], "two NINOs"
    assert refused == 2


def test_a_parent_and_child_of_the_same_name_at_one_address_stay_apart():
    """Both link strongly to a council tax record without a date of birth, and to each
    other on name and address; their dates of birth are decades apart, not a typo."""
    clusters, refused = _clusters(
        [
            ("council", None, None, None),
            ("child", "2005-06-11", None, None),
            ("parent", "1975-05-01", None, None),
        ],
        [
            ("child", "council", 14.0, 0.0),
            ("council", "parent", 13.0, 0.0),
            ("child", "parent", 9.0, -9.0),
        ],
    )
    assert clusters["child"] == clusters["council"]
    assert clusters["parent"] != clusters["child"]
    assert refused == 2


def test_a_mistyped_identifier_is_forgiven_only_on_overwhelming_evidence():
    """The links say how much the identifier weighed: 30 bits besides it is a typo in one
    copy; 8 bits besides it is two people."""
    con = duckdb.connect()
    con.execute(
        "create table person_input as select * from (values "
        "('a', 'S1', null::date), ('b', 'S2', null), ('c', 'S3', null), ('d', 'S4', null)) "
        "as t(person_record_id, identifier_xx_social_security_pseudonym, date_of_birth)"
    ).complete()
    con.execute(
        "create table person_links as select * from (values "
        "('a', 'b', 25.0, -5.0), ('c', 'd', 3.5, -5.0)) as t(person_record_id_l, "
        "person_record_id_r, match_weight, match_weight_identifier_xx_social_security_pseudonym)"
    ).complete()
    refused = linkage.cluster_links(con, threshold=0.9)
    clusters = dict(con.execute("select * from person_clusters").fetchall())
    assert clusters["a"] == clusters["b"], "30 bits besides the identifier: one person"
    assert clusters["c"] != clusters["d"]
    assert refused == 1
