"""Probabilistic person linkage with Splink 5 on DuckDB: the person index.

The person records of every department (``intermediate.int_person_records_unioned``, one
row per record with its standard person attributes) are deduplicated with a Fellegi-Sunter
model: names with typos and nicknames, dates of birth with day and month transposed,
postcodes, and the NINO, NHS number and UPRN where a record holds them. The model's
parameters are trained with expectation maximisation and saved as a versioned JSON file;
they are reused until the model is retrained.

Scored pairs above a threshold are clustered greedily, strongest link first, refusing any
link that would put two different NINOs, NHS numbers, pupil numbers or years of birth in one
cluster (one person never holds two). Each cluster gets one stable pseudonymous ``person_key``: the
keyed HMAC of its NINO, else its NHS number, else its smallest record id, so a person keeps
their key from run to run as long as their identifying record does.

Splink works in its own in-memory DuckDB connection that attaches the warehouse: the
warehouse only receives the results (schema ``linkage``) and is detached before dbt runs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from orchestration.lib.sql import quote_literal

logger = logging.getLogger(__name__)

PERSON_ATTRIBUTES: dict[str, str] = {
    "given_name": "varchar",
    "family_name": "varchar",
    "date_of_birth": "date",
    "sex": "varchar",
    "postcode": "varchar",
    "uprn": "bigint",
    "nino": "varchar",
    "nhs_number": "varchar",
    "upn_pseudonym": "varchar",
}
"""Standard person attributes the model uses, with their types. A record source that lacks
one (a column missing from the unioned records) contributes nulls."""

EXCLUSIVE_ATTRIBUTES = ("nino", "nhs_number", "upn_pseudonym", "year of birth")
"""What a person holds at most one of: a cluster never holds two different values. The year
of birth keeps parents and children of the same name at the same address apart (a typo in
the year itself is rarer than that coincidence)."""

MODEL_SPEC_VERSION = "person-2"
"""Version of the model's specification (comparisons and blocking rules). Change it when
the specification changes: stored models of another version are then not reused."""

LINKAGE_MEMORY_LIMIT = "2GB"
"""Most memory the linkage connection's DuckDB may hold, whatever the pipeline's limit: with
the Python process around it (Splink, the clustering arrays) the linkage stays within 4 GiB
at 1,000,000 citizens; DuckDB spills the rest to disk."""

DEFAULT_THRESHOLD = 0.9
"""Match probability at or above which a scored pair is a link."""

NICKNAMES: dict[str, str] = {
    "AL": "ALAN", "ALEX": "ALEXANDER", "ANDY": "ANDREW", "DREW": "ANDREW", "TONY": "ANTHONY",
    "BEN": "BENJAMIN", "BENNY": "BENJAMIN", "BOB": "ROBERT", "BOBBY": "ROBERT",
    "ROB": "ROBERT", "ROBBIE": "ROBERT", "BILL": "WILLIAM", "BILLY": "WILLIAM",
    "WILL": "WILLIAM", "LIAM": "WILLIAM", "CHRIS": "CHRISTOPHER", "KIT": "CHRISTOPHER",
    "DAN": "DANIEL", "DANNY": "DANIEL", "DAVE": "DAVID", "DAVY": "DAVID", "DICK": "RICHARD",
    "RICH": "RICHARD", "RICHIE": "RICHARD", "RICK": "RICHARD", "ED": "EDWARD",
    "EDDIE": "EDWARD", "TED": "EDWARD", "NED": "EDWARD", "FRED": "FREDERICK",
    "FREDDIE": "FREDERICK", "GREG": "GREGORY", "HARRY": "HENRY", "HAL": "HENRY",
    "JIM": "JAMES", "JIMMY": "JAMES", "JAMIE": "JAMES", "JON": "JONATHAN",
    "JOHNNY": "JOHN", "JACK": "JOHN", "JOE": "JOSEPH", "JOEY": "JOSEPH", "KEN": "KENNETH",
    "LARRY": "LAWRENCE", "LEN": "LEONARD", "MATT": "MATTHEW", "MIKE": "MICHAEL",
    "MICK": "MICHAEL", "MICKY": "MICHAEL", "NICK": "NICHOLAS", "NICKY": "NICHOLAS",
    "PAT": "PATRICIA", "PETE": "PETER", "PHIL": "PHILIP", "RAY": "RAYMOND", "RON": "RONALD",
    "SAM": "SAMUEL", "SAMMY": "SAMUEL", "STEVE": "STEPHEN", "STEVIE": "STEPHEN",
    "STU": "STUART", "TOM": "THOMAS", "TOMMY": "THOMAS", "TIM": "TIMOTHY",
    "ABBY": "ABIGAIL", "ALI": "ALISON", "BECKY": "REBECCA", "BECCA": "REBECCA",
    "BETH": "ELIZABETH", "BETTY": "ELIZABETH", "LIZ": "ELIZABETH", "LIZZIE": "ELIZABETH",
    "ELIZA": "ELIZABETH", "CATH": "CATHERINE", "CATHY": "CATHERINE", "KATE": "KATHERINE",
    "KATIE": "KATHERINE", "KATHY": "KATHERINE", "KAT": "KATHERINE", "CHARLIE": "CHARLOTTE",
    "LOTTIE": "CHARLOTTE", "DEBBIE": "DEBORAH", "DEB": "DEBORAH", "JENNY": "JENNIFER",
    "JEN": "JENNIFER", "JESS": "JESSICA", "JESSIE": "JESSICA", "MAGGIE": "MARGARET",
    "MEG": "MARGARET", "PEGGY": "MARGARET", "MANDY": "AMANDA", "SUE": "SUSAN",
    "SUZY": "SUSAN", "VICKY": "VICTORIA", "VICKI": "VICTORIA", "TORI": "VICTORIA",
    "MANDA": "AMANDA", "NICKI": "NICOLA", "STEPH": "STEPHANIE", "JO": "JOANNE",
    "GABBY": "GABRIELLE", "ELLIE": "ELEANOR", "NELL": "ELEANOR", "FRAN": "FRANCES",
    "MOLLY": "MARY", "POLLY": "MARY", "SALLY": "SARAH", "TRISH": "PATRICIA",
}  # fmt: skip
"""Common English nicknames and the formal given name each stands for. Names with more than
one formal form (Sam: Samuel or Samantha) map to one of them: what matters is that a
nickname and its formal name meet on the same value, not which."""


@dataclass
class LinkageRun:
    """What one linkage run produced.

    Attributes:
        records: Person records linked.
        excluded_records: Records left out for consent (opt-out list, opted-out patients).
        links: Scored pairs at or above the threshold.
        clusters: Persons (clusters) in the index.
        largest_cluster: Records in the largest cluster.
        refused_links: Links refused because they would join two different identifiers.
        seconds: Wall time of the run.
        score_seconds: Of which blocking and scoring the pairs.
        cluster_seconds: Of which the constrained clustering.
    """

    records: int
    excluded_records: int
    links: int
    clusters: int
    largest_cluster: int
    refused_links: int
    seconds: float
    score_seconds: float = 0.0
    cluster_seconds: float = 0.0


@dataclass
class LinkResult:
    """What scoring, clustering and keying the prepared records produced.

    Attributes:
        links: Scored pairs at or above the threshold.
        refused_links: Links refused because they would join two different identifiers.
        score_seconds: Time Splink took to block and score the pairs.
        cluster_seconds: Time the constrained clustering took.
        key_seconds: Time giving each cluster its person key took.
    """

    links: int
    refused_links: int
    score_seconds: float
    cluster_seconds: float
    key_seconds: float


def pseudonym(key: str, domain: str, value: str) -> str:
    """Keyed HMAC-SHA256 pseudonym of ``domain:value``, equal to the dbt macro ``pseudonymise``.

    Args:
        key: The pseudonymisation key.
        domain: Identifier domain (``person``, ``nino``, ...), keeps domains apart.
        value: The normalised identifier.

    Returns:
        The lower-case hex digest.
    """
    message = f"{domain}:{value}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def person_settings(threshold_years: int = 10):
    """The Splink model specification for person records (untrained).

    Args:
        threshold_years: Widest difference in years of birth still scored above "else".

    Returns:
        A ``splink.SettingsCreator`` for deduplicating the prepared person records.
    """
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    given_name = cl.CustomComparison(
        output_column_name="given_name",
        comparison_levels=[
            cll.NullLevel("given_name"),
            cll.ExactMatchLevel("given_name"),
            cll.ExactMatchLevel("given_name_canonical").configure(
                label_for_charts="Same formal name (nickname)"
            ),
            cll.JaroWinklerLevel("given_name", 0.92),
            cll.JaroWinklerLevel("given_name", 0.8),
            cll.ElseLevel(),
        ],
        comparison_description="Given name: exact, nickname of the same name, or similar",
    )
    date_of_birth = cl.CustomComparison(
        output_column_name="date_of_birth",
        comparison_levels=[
            cll.NullLevel("date_of_birth"),
            cll.ExactMatchLevel("date_of_birth"),
            cll.CustomLevel(
                "strftime(date_of_birth_l, '%Y-%m-%d') = strftime(date_of_birth_r, '%Y-%d-%m')",
                label_for_charts="Day and month transposed",
            ),
            cll.LevenshteinLevel("date_of_birth_text", distance_threshold=1).configure(
                label_for_charts="One digit different"
            ),
            cll.AbsoluteDateDifferenceLevel(
                "date_of_birth", threshold=1, metric="year", input_is_string=False
            ),
            cll.AbsoluteDateDifferenceLevel(
                "date_of_birth", threshold=threshold_years, metric="year", input_is_string=False
            ),
            cll.ElseLevel(),
        ],
        comparison_description="Date of birth: exact, transposed, one digit, within years",
    )
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="person_record_id",
        comparisons=[
            given_name,
            cl.NameComparison("family_name"),
            date_of_birth,
            cl.PostcodeComparison("postcode"),
            cl.ExactMatch("uprn").configure(m_probabilities=[0.9, 0.1]),
            cl.ExactMatch("sex"),
            cl.ExactMatch("nino").configure(m_probabilities=[0.99, 0.01]),
            cl.ExactMatch("nhs_number").configure(m_probabilities=[0.99, 0.01]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("nino"),
            block_on("nhs_number"),
            block_on("family_name", "date_of_birth"),
            block_on("given_name_canonical", "date_of_birth"),
            block_on("family_name", "postcode"),
            block_on("given_name_canonical", "postcode"),
            block_on("family_name", "given_name_canonical", "year(date_of_birth)"),
            block_on(
                "family_name",
                "given_name_canonical",
                "month(date_of_birth)",
                "day(date_of_birth)",
            ),
            "l.family_name = r.family_name and l.given_name_canonical = r.given_name_canonical "
            "and (l.date_of_birth is null or r.date_of_birth is null)",
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=[],
        max_iterations=20,
    )


def prepare_person_records(
    con: duckdb.DuckDBPyConnection,
    source: str,
    source_columns: set[str],
    excluded_where: str = "false",
) -> tuple[int, int]:
    """Creates the table ``person_input`` that the model reads, from the unioned records.

    Args:
        con: The linkage connection (the warehouse attached as ``wh``).
        source: Qualified name of the unioned person records.
        source_columns: Columns the unioned records hold; missing attributes become null.
        excluded_where: SQL condition on alias ``r`` selecting records left out for consent.

    Returns:
        ``(records, excluded)``: records prepared and records left out.
    """
    con.execute("create or replace table nicknames (nickname varchar, formal varchar)").complete()
    con.executemany("insert into nicknames values (?, ?)", list(NICKNAMES.items())).complete()
    attributes = ",\n".join(
        f"r.{name}" if name in source_columns else f"cast(null as {kind}) as {name}"
        for name, kind in PERSON_ATTRIBUTES.items()
    )
    con.execute(
        f"""
        create or replace table person_source as
        select r.person_record_id, {attributes}, coalesce({excluded_where}, false) as _excluded
        from {source} as r
        """
    ).complete()
    con.execute(
        """
        create or replace table person_input as
        select
            s.person_record_id,
            upper(s.given_name) as given_name,
            coalesce(n.formal, upper(s.given_name)) as given_name_canonical,
            upper(s.family_name) as family_name,
            s.date_of_birth,
            strftime(s.date_of_birth, '%Y-%m-%d') as date_of_birth_text,
            s.sex,
            s.postcode,
            s.uprn,
            s.nino,
            s.nhs_number,
            s.upn_pseudonym
        from person_source as s
        left join nicknames as n on upper(s.given_name) = n.nickname
        where not s._excluded
        """
    ).complete()
    records, excluded = con.execute(
        "select count(*) filter (not _excluded), count(*) filter (_excluded) from person_source"
    ).fetchall()[0]
    return records, excluded


def _linker(con: duckdb.DuckDBPyConnection, settings):
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI(connection=con)
    records = db_api.register("person_input")
    return Linker(records, settings, log_level=logging.WARNING)


def train_person_model(con: duckdb.DuckDBPyConnection, seed: int = 42) -> dict[str, Any]:
    """Trains the person model on ``person_input``: u by random sampling, m by EM.

    Args:
        con: The linkage connection holding ``person_input``.
        seed: Seed of the random sampling, so training is reproducible.

    Returns:
        The trained model as a Splink settings dictionary (JSON-serialisable).
    """
    from splink import block_on

    linker = _linker(con, person_settings())
    linker.training.estimate_probability_two_random_records_match(
        [block_on("nino"), block_on("nhs_number")], recall=0.5
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
    sessions = {
        "date_of_birth": block_on("date_of_birth"),
        "family_name, given_name_canonical": block_on("family_name", "given_name_canonical"),
    }
    for columns, rule in sessions.items():
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, max_pairs=1e6, estimate_without_term_frequencies=True
            )
        except ValueError as exc:
            # On very small populations a comparison level can be unseen among matches and
            # EM drives its m probability to 0, which Splink refuses. That session's
            # estimates are dropped; the other session's (or the defaults) stand.
            if "below the minimum" not in str(exc):
                raise
            logger.warning("EM session blocked on %s skipped: %s", columns, exc)
    return linker.misc.save_model_to_json()


def save_model(model: dict[str, Any], models_dir: Path) -> Path:
    """Writes a trained model as ``<spec version>-<UTC timestamp>.json`` and returns its path."""
    models_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = models_dir / f"{MODEL_SPEC_VERSION}-{stamp}.json"
    path.write_text(json.dumps(model, indent=2, sort_keys=True), encoding="utf-8")
    return path


def latest_model(models_dir: Path) -> Path | None:
    """The newest stored model of the current specification version, or None."""
    if not models_dir.exists():
        return None
    paths = sorted(models_dir.glob(f"{MODEL_SPEC_VERSION}-*.json"))
    return paths[-1] if paths else None


def match_weights(model: dict[str, Any]) -> list[tuple[str, str, float]]:
    """Each comparison level's match weight (log2 of m/u) in a trained model.

    Returns:
        ``(comparison, level label, match weight)`` rows; levels without trained m and u
        (null levels) are left out.
    """
    rows = []
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            m, u = level.get("m_probability"), level.get("u_probability")
            if level.get("is_null_level") or not m or not u:
                continue
            label = level.get("label_for_charts") or level["sql_condition"]
            rows.append((comparison["output_column_name"], label, float(np.log2(m / u))))
    return rows


def link_persons(
    con: duckdb.DuckDBPyConnection,
    model: dict[str, Any],
    key: str,
    threshold: float = DEFAULT_THRESHOLD,
) -> LinkResult:
    """Scores, links and clusters ``person_input`` into the person index.

    Creates ``person_links`` (every pair at or above the threshold, with the match weight of
    each comparison, so each link can be explained) and ``person_matches``
    (``person_record_id, person_key, match_rule, cluster_size``).

    Args:
        con: The linkage connection holding ``person_input``.
        model: A trained model (Splink settings dictionary).
        key: The pseudonymisation key for ``person_key``.
        threshold: Match probability at or above which a pair is a link.

    Returns:
        The links kept and refused, and the time each step took.
    """
    started = time.perf_counter()
    linker = _linker(con, model)
    predictions = linker.inference.predict(
        threshold_match_probability=threshold, warning_mode="never"
    )
    described = con.execute(f"select * from {predictions.physical_name} limit 0")
    weights = [d[0] for d in described.description if d[0].startswith("mw_")]
    described.fetchall()
    columns = ", ".join(f"p.{c} as match_weight_{c[3:]}" for c in weights)
    con.execute(
        f"""
        create or replace table person_links as
        select
            p.person_record_id_l,
            p.person_record_id_r,
            p.match_weight,
            p.match_probability,
            {columns}
        from {predictions.physical_name} as p
        """
    ).complete()
    predictions.drop_table_from_database_and_remove_from_cache()
    scored = time.perf_counter()
    refused = _cluster(con)
    clustered = time.perf_counter()
    _assign_keys(con, key)
    links = con.execute("select count(*) from person_links").fetchall()[0][0]
    return LinkResult(
        links=links,
        refused_links=refused,
        score_seconds=scored - started,
        cluster_seconds=clustered - scored,
        key_seconds=time.perf_counter() - clustered,
    )


def _components(nodes: int, lefts: np.ndarray, rights: np.ndarray) -> np.ndarray:
    """Connected components of a graph on ``0..nodes-1``: each node's smallest member.

    Vectorised label propagation: every edge whose ends carry different labels hooks the
    larger root under the smaller, then pointer jumping flattens the trees to their roots.
    """
    labels = np.arange(nodes, dtype=np.int64)
    while True:
        left, right = labels[lefts], labels[rights]
        differ = left != right
        if not differ.any():
            return labels
        left, right = left[differ], right[differ]
        low = np.minimum(left, right)
        np.minimum.at(labels, left, low)
        np.minimum.at(labels, right, low)
        while True:
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped


def _conflicted(labels: np.ndarray, identifiers: list[np.ndarray]) -> np.ndarray:
    """Per component label: whether its members hold two different values of an identifier."""
    conflicted = np.zeros(len(labels), dtype=bool)
    for ids in identifiers:
        held = ids >= 0
        width = int(ids.max()) + 1 if held.any() else 1
        distinct = np.unique(labels[held] * width + ids[held])
        conflicted |= np.bincount(distinct // width, minlength=len(labels)) > 1
    return conflicted


def _cluster(con: duckdb.DuckDBPyConnection) -> int:
    """Greedy constrained clustering of ``person_links`` into ``person_clusters``.

    Links are taken strongest first; a link joins two clusters unless they hold different
    values of an exclusive attribute (NINO, NHS number, pupil number, year of birth).

    Most connected components of the links hold no two different values of any exclusive
    attribute, and there the greedy pass would accept every link: such a component is a
    cluster as it stands. Only the links of the other (conflicted) components go through the
    greedy pass, one by one; the result is the same as a greedy pass over every link.

    Returns:
        Links refused by the exclusive attributes.
    """
    con.execute(
        """
        create or replace table person_nodes as
        select
            row_number() over (order by person_record_id) - 1 as node,
            person_record_id,
            case when nino is not null then dense_rank() over (order by nino) - 1 end as nino_id,
            case when nhs_number is not null
                then dense_rank() over (order by nhs_number) - 1 end as nhs_id,
            case when upn_pseudonym is not null
                then dense_rank() over (order by upn_pseudonym) - 1 end as upn_id,
            year(date_of_birth) as birth_year
        from person_input
        """
    ).complete()
    nodes = con.execute(
        "select coalesce(nino_id, -1), coalesce(nhs_id, -1), coalesce(upn_id, -1), "
        "coalesce(birth_year, -1) from person_nodes order by node"
    ).fetchnumpy()
    identifiers = [np.asarray(column, dtype=np.int64) for column in nodes.values()]
    count = len(identifiers[0])
    edges = con.execute(
        """
        select l.node as left_node, r.node as right_node
        from person_links as k
        inner join person_nodes as l on k.person_record_id_l = l.person_record_id
        inner join person_nodes as r on k.person_record_id_r = r.person_record_id
        order by k.match_weight desc, l.node, r.node
        """
    ).fetchnumpy()
    lefts = np.asarray(edges["left_node"], dtype=np.int64)
    rights = np.asarray(edges["right_node"], dtype=np.int64)
    labels = _components(count, lefts, rights)
    conflicted = _conflicted(labels, identifiers)
    in_conflict = conflicted[labels]
    parent = np.where(in_conflict, np.arange(count, dtype=np.int64), labels)
    greedy = conflicted[labels[lefts]]
    refused = _greedy(parent, identifiers, lefts[greedy], rights[greedy])
    con.register("_cluster_roots", {"node": np.arange(count, dtype=np.int64), "root": parent})
    con.execute(
        """
        create or replace table person_clusters as
        select n.person_record_id, c.root as cluster
        from person_nodes as n inner join _cluster_roots as c on n.node = c.node
        """
    ).complete()
    con.unregister("_cluster_roots")
    return refused


def _greedy(
    parent: np.ndarray, identifiers: list[np.ndarray], lefts: np.ndarray, rights: np.ndarray
) -> int:
    """The greedy pass over links in order, on a union-find forest ``parent`` (updated).

    Returns:
        Links refused because they would join two different values of an identifier.
    """
    if not len(lefts):
        return 0
    touched = np.unique(np.concatenate([lefts, rights]))
    nodes = touched.tolist()
    tree = dict(zip(nodes, nodes, strict=True))
    values = np.column_stack([ids[touched] for ids in identifiers]).tolist()
    held = dict(zip(nodes, values, strict=True))

    def find(x: int) -> int:
        root = x
        while tree[root] != root:
            root = tree[root]
        while tree[x] != root:
            tree[x], x = root, tree[x]
        return root

    refused = 0
    for a, b in zip(lefts.tolist(), rights.tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        va, vb = held[ra], held[rb]
        if any(x >= 0 and y >= 0 and x != y for x, y in zip(va, vb, strict=True)):
            refused += 1
            continue
        tree[rb] = ra
        held[ra] = [x if x >= 0 else y for x, y in zip(va, vb, strict=True)]
    parent[touched] = [find(node) for node in nodes]
    return refused


def _assign_keys(con: duckdb.DuckDBPyConnection, key: str) -> None:
    """Creates ``person_matches``: one pseudonymous key per cluster, from its anchor.

    A cluster's anchor is its NINO, else its NHS number, else its smallest record id. Two
    clusters can hold the same NINO (a link between them was refused, or scored below the
    threshold): the larger keeps it as anchor and the other falls back to its smallest
    record id, so no two clusters share a person key.
    """
    con.execute(
        """
        create or replace table person_anchors as
        with members as (
            select c.cluster, i.*
            from person_clusters as c
            inner join person_input as i on c.person_record_id = i.person_record_id
        ),
        claimed as (
            select
                cluster,
                count(*) as cluster_size,
                min(person_record_id) as first_record,
                case
                    when count(nino) > 0 then 'nino:' || mode(nino order by nino)
                    when count(nhs_number) > 0
                        then 'nhs:' || mode(nhs_number order by nhs_number)
                end as claim
            from members
            group by cluster
        )
        select
            cluster,
            cluster_size,
            case
                when claim is not null and row_number() over (
                    partition by claim order by cluster_size desc, first_record
                ) = 1 then claim
                else 'record:' || first_record
            end as anchor
        from claimed
        """
    ).complete()
    anchors = con.execute("select anchor from person_anchors").fetchnumpy()["anchor"]
    keys = [pseudonym(key, "person", a) for a in anchors.tolist()]
    con.register("_anchor_keys", {"anchor": anchors, "person_key": np.array(keys, dtype=object)})
    con.execute(
        """
        create or replace table person_matches as
        select
            c.person_record_id,
            k.person_key,
            case when a.cluster_size > 1 then 'probabilistic' else 'unlinked' end as match_rule,
            a.cluster_size
        from person_clusters as c
        inner join person_anchors as a on c.cluster = a.cluster
        inner join _anchor_keys as k on a.anchor = k.anchor
        """
    ).complete()
    con.unregister("_anchor_keys")


_MEMORY_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}


def _memory_bytes(limit: str) -> float | None:
    """Bytes of a DuckDB memory setting such as ``8GB`` or ``1.5 GiB`` (None if unreadable)."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", limit)
    if not match:
        return None
    unit = _MEMORY_UNITS.get((match.group(2) or "b").lower())
    return float(match.group(1)) * unit if unit else None


def linkage_memory_limit(memory_limit: str) -> str:
    """The smaller of ``memory_limit`` and :data:`LINKAGE_MEMORY_LIMIT`."""
    requested = _memory_bytes(memory_limit)
    cap = _memory_bytes(LINKAGE_MEMORY_LIMIT)
    return memory_limit if requested is not None and requested <= cap else LINKAGE_MEMORY_LIMIT


def linkage_connection(memory_limit: str, temp_dir: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection for Splink, spilling to ``temp_dir`` when it must.

    Args:
        memory_limit: The pipeline's DuckDB memory limit; the connection takes the smaller
            of it and :data:`LINKAGE_MEMORY_LIMIT`.
        temp_dir: Where DuckDB spills.
    """
    temp_dir.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(
        ":memory:",
        config={
            "memory_limit": linkage_memory_limit(memory_limit),
            "temp_directory": str(temp_dir),
            "preserve_insertion_order": False,
        },
    )


@contextmanager
def warehouse_session(
    warehouse: Path, memory_limit: str, temp_dir: Path
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A linkage connection with the warehouse attached as ``wh``, detached on exit.

    DuckDB allows one writer process per file: call this only from the pipeline's process,
    never while another connection to the warehouse is open in it.
    """
    con = linkage_connection(memory_limit, temp_dir)
    try:
        con.execute(f"attach {quote_literal(str(warehouse))} as wh").complete()
        yield con
    finally:
        con.close()


def prepare_from_warehouse(
    con: duckdb.DuckDBPyConnection, health: list[tuple[str, str]]
) -> tuple[int, int]:
    """Prepares ``person_input`` from the warehouse's unioned person records, minus the
    records that consent excludes (see :mod:`orchestration.lib.privacy`).

    Returns:
        ``(records, excluded)``.
    """
    from orchestration.lib.privacy import excluded_person_records_sql

    columns = {
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns where table_catalog = 'wh' "
            "and table_schema = 'intermediate' and table_name = 'int_person_records_unioned'"
        ).fetchall()
    }
    if not columns:
        raise RuntimeError(
            "intermediate.int_person_records_unioned is missing from the warehouse: "
            "materialize the dbt models upstream of the linkage first"
        )
    has_opt_outs = con.execute(
        "select count(*) from information_schema.tables where table_catalog = 'wh' "
        "and table_schema = 'staging' and table_name = 'stg_nhs__data_opt_outs'"
    ).fetchall()[0][0]
    excluded = excluded_person_records_sql(
        health if has_opt_outs else [], "wh.staging.stg_nhs__data_opt_outs"
    )
    return prepare_person_records(
        con, "wh.intermediate.int_person_records_unioned", columns, excluded
    )


def write_index(con: duckdb.DuckDBPyConnection) -> None:
    """Writes ``person_matches`` and ``person_links`` to the warehouse's ``linkage`` schema."""
    con.execute(
        """
        create schema if not exists wh.linkage;
        create or replace table wh.linkage.person_matches as select * from person_matches;
        create or replace table wh.linkage.person_links as select * from person_links;
        """
    ).complete()


def run_person_linkage(
    con: duckdb.DuckDBPyConnection,
    model: dict[str, Any],
    key: str,
    health: list[tuple[str, str]],
    threshold: float = DEFAULT_THRESHOLD,
) -> LinkageRun:
    """Prepares, links and clusters the warehouse's person records (not yet written back).

    Args:
        con: A :func:`warehouse_session` connection.
        model: A trained model.
        key: The pseudonymisation key.
        health: ``(department, dataset)`` of the health datasets (for consent).
        threshold: Match probability at or above which a pair is a link.
    """
    started = time.perf_counter()
    records, excluded = prepare_from_warehouse(con, health)
    result = link_persons(con, model, key, threshold)
    clusters, largest = con.execute(
        "select count(distinct person_key), coalesce(max(cluster_size), 0) from person_matches"
    ).fetchall()[0]
    return LinkageRun(
        records=records,
        excluded_records=excluded,
        links=result.links,
        clusters=clusters,
        largest_cluster=largest,
        refused_links=result.refused_links,
        seconds=time.perf_counter() - started,
        score_seconds=result.score_seconds,
        cluster_seconds=result.cluster_seconds,
    )
