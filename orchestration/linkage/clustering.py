"""Constrained clustering of scored person links, and stable pseudonymous person keys.

Links are taken strongest first; a link that would put two different values of an exclusive
attribute in one cluster is refused (one person never holds two), unless the evidence besides
says one value is a mistyped copy of the other. Each cluster's key is the
keyed HMAC of its NINO, else NHS number, else smallest record id.
"""

from __future__ import annotations

import duckdb
import numpy as np

from orchestration.privacy import pseudonym
from orchestration.sql import quote_identifier

EXCLUSIVE_ATTRIBUTES = (
    "nino",
    "nhs_number",
    "upn_pseudonym",
    "identifier schemes",
    "year of birth",
)
"""What a person holds at most one of: a cluster holds two different values of a national
identifier or of an identifier scheme (``identifier_<scheme>_pseudonym``) only when a link's
evidence without the identifiers gives odds of a match of :data:`IDENTIFIER_TYPO_ODDS` or
more (one value is then a mistyped copy of the other). The year
of birth keeps parents and children of the same name at the same address apart: a link may
join two years of birth only when the dates differ by a typo (one digit, two digits swapped,
day and month transposed, or less than a year apart) and the evidence without the date of
birth is strong on its own (its match weight less the date of birth's still reaches the
threshold, or the two records share an identifier)."""

NATIONAL_IDENTIFIERS = ("nino", "nhs_number", "upn_pseudonym")

IDENTIFIER_TYPO_ODDS = 10_000
"""Odds of a match, on the evidence without identifiers, above which a link may join two
different values of an identifier: one of them is then taken for a mistyped copy of the other
(the identifiers are compared as pseudonyms, so a typo cannot be seen in them). Two people
who agree on names, date of birth and address that closely are far rarer than a typo."""


def _identifier_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The identifier columns of ``person_input``: national ones, then each scheme's."""
    columns = [
        c
        for (c,) in con.execute(
            "select column_name from information_schema.columns where table_name = "
            "'person_input' and table_schema = current_schema() order by ordinal_position"
        ).fetchall()
    ]
    schemes = sorted(c for c in columns if c.startswith("identifier_") and c.endswith("_pseudonym"))
    return [c for c in NATIONAL_IDENTIFIERS if c in columns] + schemes


RECORD_ORDER_SALT = "commonground-record-order-v1"
"""Fixed salt of the hash that orders person records for tie-breaking (not a secret: it
only spreads the order, so that ties do not favour, say, alphabetical names)."""


def record_order(con: duckdb.DuckDBPyConnection) -> str:
    """SQL of a key-independent sort key of the records of ``person_input``.

    A salted MD5 of the record's origin (the ``department:dataset`` prefix of its record
    id) and of every attribute that is not a pseudonym. Record ids and pseudonyms change
    with the pseudonymisation key, so neither may order anything that decides a cluster.
    Only records equal in every attribute but their pseudonyms tie; the record id then
    breaks the tie (such records are interchangeable for the linkage).
    """
    columns = [
        c
        for (c,) in con.execute(
            "select column_name from information_schema.columns where table_name = "
            "'person_input' and table_schema = current_schema() order by ordinal_position"
        ).fetchall()
        if c != "person_record_id" and not c.endswith("_pseudonym")
    ]
    values = "".join(f", coalesce(cast({quote_identifier(c)} as varchar), chr(0))" for c in columns)
    origin = "regexp_extract(person_record_id, '^([^:]*:[^:]*):', 1)"
    return f"md5(concat_ws(chr(31), '{RECORD_ORDER_SALT}', {origin}{values}))"


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.columns where table_name = ? "
            "and column_name = ? and table_schema = current_schema()",
            [table, column],
        ).fetchall()[0][0]
    )


def components(nodes: int, lefts: np.ndarray, rights: np.ndarray) -> np.ndarray:
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


def cluster_links(con: duckdb.DuckDBPyConnection, threshold: float = 0.9) -> int:
    """Greedy constrained clustering of ``person_links`` into ``person_clusters``.

    Links are taken strongest first, links of equal weight in the key-independent order of
    their records (:func:`record_order`), so the clusters do not depend on the
    pseudonymisation key; a link joins two clusters unless they hold different
    values of an exclusive attribute (NINO, NHS number, pupil number, each identifier
    scheme; unless the link's evidence without them is overwhelming, see
    :data:`IDENTIFIER_TYPO_ODDS`) or different years of birth. Years of birth are held as a
    range: a link may
    join two clusters when one's range lies within the other's, and a link whose two
    records' dates of birth differ by a typo, with strong evidence besides (see
    :data:`EXCLUSIVE_ATTRIBUTES`), may widen it.

    Most connected components of the links hold no two different values of any exclusive
    attribute, and there the greedy pass would accept every link: such a component is a
    cluster as it stands. Only the links of the other (conflicted) components go through the
    greedy pass, one by one; the result is the same as a greedy pass over every link.

    Args:
        con: A connection holding ``person_input`` and ``person_links``.
        threshold: The match probability of a link: the evidence without the date of
            birth must reach its match weight for a typo in the date to be forgiven.

    Returns:
        Links refused by the exclusive attributes.
    """
    columns = _identifier_columns(con)
    ranks = "".join(
        f",\n            case when {quote_identifier(c)} is not null then dense_rank() over "
        f"(order by {quote_identifier(c)}) - 1 end as id_{i}"
        for i, c in enumerate(columns)
    )
    # Nodes are numbered in a key-independent order: ties between links of equal weight
    # are broken by node, so numbering by record id (a pseudonym for datasets keyed by a
    # direct identifier) would make the clusters depend on the pseudonymisation key.
    con.execute(
        f"""
        create or replace table person_nodes as
        select
            row_number() over (order by {record_order(con)}, person_record_id) - 1 as node,
            person_record_id,
            date_of_birth,
            year(date_of_birth) as birth_year{ranks}
        from person_input
        """
    ).complete()
    held = ", ".join([*(f"coalesce(id_{i}, -1)" for i in range(len(columns))), "1"])
    nodes = con.execute(
        f"select {held}, coalesce(birth_year, -1) as birth_year from person_nodes order by node"
    ).fetchnumpy()
    years = np.asarray(nodes.pop("birth_year"), dtype=np.int64)
    identifiers = [np.asarray(column, dtype=np.int64) for column in nodes.values()][: len(columns)]
    count = len(years)
    weight = float(np.log2(threshold / (1 - threshold)))
    without_dob = (
        "k.match_weight - coalesce(k.match_weight_date_of_birth, 0)"
        if _has_column(con, "person_links", "match_weight_date_of_birth")
        else "k.match_weight"
    )
    shared = " or ".join(f"l.id_{i} = r.id_{i}" for i in range(len(columns))) or "false"
    # A typo can be forgiven only in an identifier the model compares: the link then says
    # how much the identifiers weighed. One that no two sources share is never forgiven.
    compared = [_has_column(con, "person_links", f"match_weight_{c}") for c in columns]
    identifier_weights = [
        f"coalesce(k.{quote_identifier('match_weight_' + c)}, 0)"
        for c, weighed in zip(columns, compared, strict=True)
        if weighed
    ]
    without_identifiers = (
        " - ".join(["k.match_weight", *identifier_weights]) if identifier_weights else "null"
    )
    edges = con.execute(
        f"""
        select
            least(l.node, r.node) as left_node,
            greatest(l.node, r.node) as right_node,
            coalesce(
                l.birth_year <> r.birth_year
                and (
                    damerau_levenshtein(
                        strftime(l.date_of_birth, '%Y-%m-%d'),
                        strftime(r.date_of_birth, '%Y-%m-%d')
                    ) <= 1
                    or strftime(l.date_of_birth, '%Y-%m-%d')
                    = strftime(r.date_of_birth, '%Y-%d-%m')
                    or abs(date_diff('day', l.date_of_birth, r.date_of_birth)) < 366
                )
                and ({without_dob} >= ? or {shared}),
                false
            ) as forgiven,
            coalesce({without_identifiers} >= ?, false) as typed_again
        from person_links as k
        inner join person_nodes as l on k.person_record_id_l = l.person_record_id
        inner join person_nodes as r on k.person_record_id_r = r.person_record_id
        -- Splink orients a pair by record id: the nodes, not l and r, fix the order.
        order by k.match_weight desc, least(l.node, r.node), greatest(l.node, r.node)
        """,
        [weight, float(np.log2(IDENTIFIER_TYPO_ODDS))],
    ).fetchnumpy()
    lefts = np.asarray(edges["left_node"], dtype=np.int64)
    rights = np.asarray(edges["right_node"], dtype=np.int64)
    forgiven = np.asarray(edges["forgiven"], dtype=bool)
    typed_again = np.asarray(edges["typed_again"], dtype=bool)
    labels = components(count, lefts, rights)
    conflicted = _conflicted(labels, [*identifiers, years])
    in_conflict = conflicted[labels]
    parent = np.where(in_conflict, np.arange(count, dtype=np.int64), labels)
    greedy = conflicted[labels[lefts]]
    refused = _greedy(
        parent,
        identifiers,
        years,
        lefts[greedy],
        rights[greedy],
        forgiven[greedy],
        typed_again[greedy],
        compared,
    )
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
    parent: np.ndarray,
    identifiers: list[np.ndarray],
    years: np.ndarray,
    lefts: np.ndarray,
    rights: np.ndarray,
    forgiven: np.ndarray,
    typed_again: np.ndarray,
    forgivable: list[bool],
) -> int:
    """The greedy pass over links in order, on a union-find forest ``parent`` (updated).

    Each root holds one value per identifier (-1: none) and the range of its years of
    birth. A link is refused when its clusters hold different values of an identifier, or
    when neither's range of years lies within the other's, unless the link is ``forgiven``
    (a typo in the date of birth, with strong evidence besides). Different values of a
    ``forgivable`` identifier are joined when the link is ``typed_again`` (overwhelming
    evidence without the identifiers).

    Returns:
        Links refused because they would join two different values of an identifier or two
        years of birth.
    """
    if not len(lefts):
        return 0
    touched = np.unique(np.concatenate([lefts, rights]))
    nodes = touched.tolist()
    tree = dict(zip(nodes, nodes, strict=True))
    if identifiers:
        values = np.column_stack([ids[touched] for ids in identifiers]).tolist()
    else:
        values = [[] for _ in nodes]
    held = dict(zip(nodes, values, strict=True))
    born = {n: (y, y) for n, y in zip(nodes, years[touched].tolist(), strict=True)}

    def find(x: int) -> int:
        root = x
        while tree[root] != root:
            root = tree[root]
        while tree[x] != root:
            tree[x], x = root, tree[x]
        return root

    refused = 0
    links = zip(
        lefts.tolist(), rights.tolist(), forgiven.tolist(), typed_again.tolist(), strict=True
    )
    for a, b, typo, retyped in links:
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        va, vb = held[ra], held[rb]
        if any(
            x >= 0 and y >= 0 and x != y and not (retyped and may)
            for x, y, may in zip(va, vb, forgivable, strict=True)
        ):
            refused += 1
            continue
        (la, ha), (lb, hb) = born[ra], born[rb]
        if la >= 0 and lb >= 0:
            nested = (la <= lb and hb <= ha) or (lb <= la and ha <= hb)
            if not nested and not typo:
                refused += 1
                continue
            born[ra] = (min(la, lb), max(ha, hb))
        elif la < 0:
            born[ra] = (lb, hb)
        tree[rb] = ra
        held[ra] = [x if x >= 0 else y for x, y in zip(va, vb, strict=True)]
    parent[touched] = [find(node) for node in nodes]
    return refused


def assign_person_keys(con: duckdb.DuckDBPyConnection, key: str, cached: bool = False) -> None:
    """Creates ``person_matches``: one pseudonymous key per cluster, from its anchor, and
    ``person_key_cache``: each anchor's SHA-256 digest and key.

    With ``cached``, the keys of anchors that ``wh.linkage.person_key_cache`` (the stored
    index's, made with the same key) already holds are taken from it rather than computed
    again: a key is a keyed HMAC, the same whenever it is computed.

    A cluster's anchor is its NINO, else its NHS number, else the pseudonym of an identifier
    scheme (in the order of their names), else its smallest record id. Two
    clusters can hold the same NINO (a link between them was refused, or scored below the
    threshold): the larger keeps it as anchor and the other falls back to its smallest
    record id, so no two clusters share a person key.
    """
    prefixes = {"nino": "nino", "nhs_number": "nhs"}
    claims = (
        "".join(
            f"\n                    when count({quote_identifier(c)}) > 0 then "
            f"'{prefixes.get(c, c)}:' || mode({quote_identifier(c)} order by {quote_identifier(c)})"
            for c in _identifier_columns(con)
            if c != "upn_pseudonym"
        )
        or "\n                    when false then null"
    )
    con.execute(
        f"""
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
                case{claims}
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
    known = (
        "select cast(null as varchar) as digest, cast(null as varchar) as person_key where false"
    )
    if (
        cached
        and con.execute(
            "select count(*) from information_schema.tables where table_catalog = 'wh' "
            "and table_schema = 'linkage' and table_name = 'person_key_cache'"
        ).fetchall()[0][0]
    ):
        known = "select digest, person_key from wh.linkage.person_key_cache"
    con.execute(
        f"""
        create or replace temp table person_anchor_keys as
        select a.anchor, sha256(a.anchor) as digest, k.person_key
        from person_anchors as a
        left join ({known}) as k on sha256(a.anchor) = k.digest
        """
    ).complete()
    anchors = con.execute(
        "select anchor from person_anchor_keys where person_key is null"
    ).fetchnumpy()["anchor"]
    keys = [pseudonym(key, "person", a) for a in anchors.tolist()]
    con.register("_new_keys", {"anchor": anchors, "person_key": np.array(keys, dtype=object)})
    con.execute(
        """
        create or replace temp table _anchor_keys as
        select a.anchor, coalesce(a.person_key, n.person_key) as person_key, a.digest
        from person_anchor_keys as a left join _new_keys as n on a.anchor = n.anchor;
        create or replace table person_key_cache as
        select digest, person_key from _anchor_keys;
        """
    ).complete()
    con.unregister("_new_keys")
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
    con.execute("drop table _anchor_keys; drop table person_anchor_keys").complete()
