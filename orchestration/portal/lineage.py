"""Table-level lineage: one graph from the dbt manifest, the Dagster asset graph and the
contracts' landing folders, and the neighbourhood of a dataset laid out in levels.

Nodes are datasets (``schema.table``), assets that are not tables (``asset:<key>``, e.g. the
linkage model) and landing folders (``landing:<path>``), the ingest sources of raw tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from orchestration.contracts import Contract
from orchestration.portal.model import LineageNode


def layer_of(schema: str) -> str:
    """The layer a warehouse schema belongs to (every ``marts_*`` schema is ``marts``)."""
    return "marts" if schema.startswith("marts") else schema


class Resolver:
    """Finds the dataset a name stands for: ``schema.table``, ``layer.table`` (the name
    quality results use) or an asset key ``layer/table``."""

    def __init__(self, dataset_ids: Iterable[str]):
        self._ids = set(dataset_ids)
        self._by_layer: dict[str, str] = {}
        for dataset in sorted(self._ids):
            schema, _, table = dataset.partition(".")
            self._by_layer.setdefault(f"{layer_of(schema)}.{table}", dataset)

    def dataset(self, name: str) -> str | None:
        """The dataset id ``name`` names, or None."""
        dotted = name.replace("/", ".", 1) if "." not in name else name
        if dotted in self._ids:
            return dotted
        return self._by_layer.get(dotted)


def _manifest_parents(manifest: Mapping, resolve: Resolver) -> dict[str, set[str]]:
    """Upstream ``schema.table`` of every model and seed in the manifest."""
    names: dict[str, str] = {}
    for unique_id, node in (manifest.get("nodes") or {}).items():
        if node.get("resource_type") in {"model", "seed", "snapshot"}:
            names[unique_id] = f"{node.get('schema')}.{node.get('alias') or node.get('name')}"
    for unique_id, source in (manifest.get("sources") or {}).items():
        names[unique_id] = f"{source.get('schema')}.{source.get('identifier') or source['name']}"
    parents: dict[str, set[str]] = {}
    for unique_id, node in (manifest.get("nodes") or {}).items():
        if unique_id not in names:
            continue
        ups = (node.get("depends_on") or {}).get("nodes") or []
        mine = resolve.dataset(names[unique_id]) or names[unique_id]
        found = parents.setdefault(mine, set())
        for up in ups:
            if up in names:
                found.add(resolve.dataset(names[up]) or names[up])
    return parents


def build_graph(
    manifest: Mapping,
    asset_parents: Mapping[str, Sequence[str]],
    contracts: Sequence[Contract],
    dataset_ids: Iterable[str],
    exclude: Iterable[str] = (),
) -> tuple[dict[str, LineageNode], dict[str, tuple[str, ...]]]:
    """The lineage graph: nodes by id and each node's upstream node ids.

    Args:
        manifest: The dbt manifest (``depends_on`` of models and seeds, sources).
        asset_parents: Upstream asset keys (``a/b``) of each asset key, from Dagster.
        contracts: Contracts: each raw table's upstream is its landing folder.
        dataset_ids: The datasets that have pages (``schema.table``).
        exclude: Asset keys left out of the graph (the portal itself).
    """
    ids = sorted(set(dataset_ids))
    resolve = Resolver(ids)
    skip = set(exclude)

    def node_id(asset_key: str) -> str:
        return resolve.dataset(asset_key) or f"asset:{asset_key}"

    parents: dict[str, set[str]] = {d: set() for d in ids}
    for child, ups in _manifest_parents(manifest, resolve).items():
        parents.setdefault(child, set()).update(ups)
    for key, ups in asset_parents.items():
        if key in skip:
            continue
        parents.setdefault(node_id(key), set()).update(node_id(u) for u in ups if u not in skip)
    for contract in contracts:
        raw = resolve.dataset(f"raw.{contract.raw_table}") or f"raw.{contract.raw_table}"
        parents.setdefault(raw, set()).add(f"landing:{contract.landing_path}")
    known = set(ids)
    nodes: dict[str, LineageNode] = {}
    for node in sorted(set(parents) | {u for ups in parents.values() for u in ups}):
        if node in known:
            nodes[node] = LineageNode(node, node, "dataset", node)
        elif node.startswith("landing:"):
            nodes[node] = LineageNode(node, node.removeprefix("landing:"), "landing")
        elif node.startswith("asset:"):
            nodes[node] = LineageNode(node, node.removeprefix("asset:"), "asset")
        else:
            nodes[node] = LineageNode(node, node, "table")
    return nodes, {k: tuple(sorted(v - {k})) for k, v in sorted(parents.items())}


def ancestors(parents: Mapping[str, Sequence[str]], node: str) -> list[str]:
    """Every node upstream of ``node``, in id order."""
    seen: set[str] = set()
    stack = list(parents.get(node, ()))
    while stack:
        up = stack.pop()
        if up not in seen and up != node:
            seen.add(up)
            stack.extend(parents.get(up, ()))
    return sorted(seen)


def topological(parents: Mapping[str, Sequence[str]], nodes: Iterable[str]) -> list[str]:
    """``nodes`` ordered so that each comes after its upstream nodes (ties by id)."""
    order: list[str] = []
    state: dict[str, int] = {}
    for start in sorted(nodes):
        stack = [(start, iter(sorted(parents.get(start, ()))))]
        if state.get(start):
            continue
        state[start] = 1
        while stack:
            current, pending = stack[-1]
            up = next(pending, None)
            if up is None:
                stack.pop()
                state[current] = 2
                order.append(current)
            elif not state.get(up):
                state[up] = 1
                stack.append((up, iter(sorted(parents.get(up, ())))))
    wanted = set(nodes)
    return [n for n in order if n in wanted]


@dataclass(frozen=True)
class Neighbourhood:
    """A node's upstream and downstream nodes, each with its level (negative upstream), the
    edges among them, and how many nodes were left out to keep the drawing readable."""

    focus: str
    levels: dict[str, int]
    edges: tuple[tuple[str, str], ...]
    hidden_upstream: int
    hidden_downstream: int


def _distances(links: Mapping[str, Sequence[str]], focus: str) -> dict[str, int]:
    """Longest path (in edges) from ``focus`` to every node reachable along ``links``."""
    reachable = set(ancestors(links, focus))
    members = reachable | {focus}
    before: dict[str, list[str]] = {n: [] for n in members}
    for node in members:
        for nxt in links.get(node, ()):
            if nxt in members:
                before[nxt].append(node)
    distance = {focus: 0}
    for node in topological(before, members):
        if node not in distance:
            continue
        for nxt in links.get(node, ()):
            if nxt in reachable:
                distance[nxt] = max(distance.get(nxt, 0), distance[node] + 1)
    return {n: d for n, d in distance.items() if n != focus}


def neighbourhood(
    parents: Mapping[str, Sequence[str]],
    children: Mapping[str, Sequence[str]],
    focus: str,
    limit: int = 60,
) -> Neighbourhood:
    """The upstream and downstream of ``focus``, levelled by longest path.

    At most ``limit`` nodes are kept on each side, the nearest first (ties by id).
    """
    up = _distances(parents, focus)
    down = _distances(children, focus)

    def keep(found: dict[str, int]) -> dict[str, int]:
        ranked = sorted(found.items(), key=lambda item: (item[1], item[0]))
        return dict(ranked[:limit])

    kept_up, kept_down = keep(up), keep(down)
    levels = {focus: 0, **{n: -d for n, d in kept_up.items()}, **kept_down}
    edges = sorted(
        (up_node, node)
        for node in levels
        for up_node in parents.get(node, ())
        if up_node in levels and levels[up_node] < levels[node]
    )
    return Neighbourhood(
        focus=focus,
        levels=dict(sorted(levels.items())),
        edges=tuple(edges),
        hidden_upstream=len(up) - len(kept_up),
        hidden_downstream=len(down) - len(kept_down),
    )
