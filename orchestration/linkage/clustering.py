"""Constrained clustering of scored person links, and stable pseudonymous person keys.

Links are taken strongest first; a link that would put two different values of an exclusive
attribute in one cluster is refused (one person never holds two). Each cluster's key is the
keyed HMAC of its NINO, else NHS number, else smallest record id.
"""

from __future__ import annotations

import duckdb
import numpy as np

from orchestration.privacy import pseudonym

EXCLUSIVE_ATTRIBUTES = ("nino", "nhs_number", "upn_pseudonym", "year of birth")
"""What a person holds at most one of: a cluster never holds two different values. The year
of birth keeps parents and children of the same name at the same address apart (a typo in
the year itself is rarer than that coincidence)."""


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


def cluster_links(con: duckdb.DuckDBPyConnection) -> int:
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


def assign_person_keys(con: duckdb.DuckDBPyConnection, key: str) -> None:
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
