"""The network picture (关联关系图谱) of the credit-office entity page, as inline SVG.

Drawn server-side: a deterministic radial layout (:func:`network_layout`: the enterprise in the
middle, parties one hop away on the inner ring, two hops away on the outer one, each subtree in
its own sector), nodes coloured by risk, edges labelled by role. The page needs no JavaScript,
and the same data always gives the same picture.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import deque
from collections.abc import Collection, Iterable, Mapping
from typing import Any, Literal

import networkx as nx
from markupsafe import Markup

from serving.schemas import EntityNetwork, NetworkNode

__all__ = [
    "SVG_HEIGHT",
    "SVG_WIDTH",
    "network_layout",
    "network_svg",
    "node_risk",
]

SVG_WIDTH, SVG_HEIGHT = 1000, 660
_MARGIN = 70
_RADIUS = {"center": 22.0, "enterprise": 13.0, "person": 9.0}
_CROWDED_RING = 16
_LABELLED_NODES = 60  # above this, only the centre and its direct neighbours get a visible name
_LABELLED_EDGES = 24  # above this, only the centre's own edges get a visible label
_NAME_CHARS = 12
_DIVISION_PREFIX = re.compile(r"^[\u4e00-\u9fff]{1,4}?[省市县区旗]")


RiskClass = Literal["risk-own", "risk-linked", "risk-none"]


def node_risk(node: NetworkNode, linked_notable: float) -> RiskClass:
    """A node's colour: its own active records, else notable linked risk, else none."""
    if node.own_signal > 0:
        return "risk-own"
    if node.linked_risk >= linked_notable:
        return "risk-linked"
    return "risk-none"


def _spanning_tree(network: EntityNetwork, graph: nx.Graph, root: str) -> dict[str, list[str]]:
    """Children of each node: every node hangs under its first neighbour one hop nearer."""
    hops = {node.id: node.hops for node in network.nodes}
    order = {node.id: position for position, node in enumerate(network.nodes)}
    children: dict[str, list[str]] = {node.id: [] for node in network.nodes}
    for node in network.nodes:
        if node.id == root:
            continue
        nearer = [m for m in graph[node.id] if hops[m] < hops[node.id]]
        parent = min(nearer, key=order.__getitem__) if nearer else root
        children[parent].append(node.id)
    return children


def network_layout(
    network: EntityNetwork,
    *,
    width: int = SVG_WIDTH,
    height: int = SVG_HEIGHT,
) -> dict[str, tuple[float, float]]:
    """Positions of the nodes in SVG coordinates: a radial tree around the enterprise.

    Parameters
    ----------
    network
        The ego network (nodes nearest first, each with its hop distance).
    width, height
        The picture's size; positions keep a margin for labels.

    Returns
    -------
    dict
        Node id → (x, y); the enterprise in the middle, nodes ``k`` hops away on the k-th
        ring (ellipses filling the frame).

    Notes
    -----
    A radial tree drawing (Eades 1992): a breadth-first spanning tree (each node under its
    first neighbour one hop nearer, in the network's node order) gives every subtree an
    angular sector proportional to its number of leaves, and each node sits in the middle
    of its sector. A hub's many neighbours are thus spread around the outer ring instead of
    piling up; crowded rings alternate between two radii so that labels overlap less. The
    result depends only on the network, never on a random seed.
    """
    middle = (width / 2, height / 2)
    graph = nx.Graph()
    graph.add_nodes_from(node.id for node in network.nodes)
    graph.add_edges_from((edge.source, edge.target) for edge in network.edges)
    if graph.number_of_nodes() <= 1:
        return {node.id: middle for node in network.nodes}
    root = network.center if network.center in graph else network.nodes[0].id
    children = _spanning_tree(network, graph, root)
    leaves: dict[str, int] = {}
    for node in reversed(network.nodes):  # nearest first: children come after their parent
        leaves[node.id] = max(1, sum(leaves[c] for c in children[node.id]))
    deepest = max(node.hops for node in network.nodes) or 1
    ring_size: dict[int, int] = {}
    for node in network.nodes:
        ring_size[node.hops] = ring_size.get(node.hops, 0) + 1
    radius_x, radius_y = width / 2 - _MARGIN, height / 2 - _MARGIN
    positions = {root: middle}
    placed_on_ring: dict[int, int] = {}
    hops = {node.id: node.hops for node in network.nodes}
    sectors = deque([(root, -math.pi / 2, 2 * math.pi)])  # (node, start angle, span)
    while sectors:
        parent, start, span = sectors.popleft()
        total = sum(leaves[c] for c in children[parent])
        for child in children[parent]:
            share = span * leaves[child] / total
            angle = start + share / 2
            ring = hops[child]
            index = placed_on_ring.get(ring, 0)
            placed_on_ring[ring] = index + 1
            level = ring / deepest
            if ring_size[ring] > _CROWDED_RING and index % 2:
                level -= 0.5 / deepest
            positions[child] = (
                round(middle[0] + level * radius_x * math.cos(angle), 1),
                round(middle[1] + level * radius_y * math.sin(angle), 1),
            )
            sectors.append((child, start, share))
            start += share
    return positions


def _short(name: str) -> str:
    """A label for the picture: without the leading division (清源县…), at most 12 characters.

    The full name stays in the node's ``<title>`` (its tooltip).
    """
    rest = _DIVISION_PREFIX.sub("", name, count=1)
    text = rest if len(rest) >= 4 else name
    return text if len(text) <= _NAME_CHARS else text[: _NAME_CHARS - 1] + "…"


def _attrs(values: Mapping[str, Any]) -> Markup:
    return Markup(" ").join(Markup('{}="{}"').format(k, v) for k, v in values.items())


def _node_title(node: NetworkNode, label: str) -> str:
    kind = "自然人" if node.node_type == "person" else "企业"
    lines = [
        f"{node.name}（{kind}{'' if node.known else '，未登记'}）",
        f"自身风险 {node.own_signal:.3f} · 关联风险 {node.linked_risk:.3f} · 距离 {node.hops} 跳",
    ]
    if node.node_type == "enterprise":
        lines.insert(1, label)
    return "\n".join(lines)


def _edge_groups(network: EntityNetwork) -> dict[tuple[str, str], list[str]]:
    groups: dict[tuple[str, str], list[str]] = {}
    for edge in network.edges:
        labels = groups.setdefault((edge.source, edge.target), [])
        if edge.label not in labels:
            labels.append(edge.label)
    return groups


def _pairs(path: Iterable[str]) -> set[tuple[str, str]]:
    items = list(path)
    return set(itertools.pairwise(items))


def network_svg(
    network: EntityNetwork,
    *,
    linked_notable: float,
    highlight: Collection[str] = (),
    link: str = "/ui/entities/{id}",
) -> Markup:
    """Draw an ego network as inline SVG.

    Parameters
    ----------
    network
        Nodes and edges (:func:`serving.crud.entity_network`); person names already masked.
    linked_notable
        Linked risk from which a node is coloured as linked-risky.
    highlight
        Node ids of a chain to emphasise (the actual controller's path, controller first).
    link
        URL template of a registered enterprise's own page (``{id}`` = its USCC).

    Returns
    -------
    markupsafe.Markup
        ``<svg>`` with one ``<g class="node …" data-id=…>`` (with a ``<title>``) per node and
        one ``<g class="edge …">`` per linked pair. Person ids never appear: persons get
        ``data-id="person-1"``, ``person-2``, … in node order.
    """
    positions = network_layout(network)
    radius: dict[str, float] = {}
    for node in network.nodes:
        shape = "center" if node.id == network.center else node.node_type
        radius[node.id] = _RADIUS[shape]
    labelled = len(network.nodes) <= _LABELLED_NODES
    control_pairs = _pairs(highlight)
    parts = [
        Markup(
            '<svg xmlns="http://www.w3.org/2000/svg" class="network" viewBox="0 0 {w} {h}" '
            'width="100%" role="img" aria-label="关联关系图谱">'
        ).format(w=SVG_WIDTH, h=SVG_HEIGHT),
        Markup(
            "<defs>"
            '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
            'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker>'
            '<marker id="arrow-control" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
            'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker>'
            "</defs>"
        ),
        Markup('<g class="edges">'),
    ]
    groups = _edge_groups(network)
    for (source, target), labels in groups.items():
        (x1, y1), (x2, y2) = positions[source], positions[target]
        length = math.hypot(x2 - x1, y2 - y1) or 1.0
        ux, uy = (x2 - x1) / length, (y2 - y1) / length
        start = (x1 + ux * radius[source], y1 + uy * radius[source])
        end = (x2 - ux * (radius[target] + 2), y2 - uy * (radius[target] + 2))
        text = "、".join(labels)
        control = (source, target) in control_pairs
        edge_class = "edge control" if control else "edge"
        parts.append(Markup('<g class="{}" data-label="{}">').format(edge_class, text))
        parts.append(Markup("<title>{}</title>").format(text))
        parts.append(
            Markup(
                '<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" marker-end="url(#{})"/>'
            ).format(*start, *end, "arrow-control" if control else "arrow")
        )
        if len(groups) <= _LABELLED_EDGES or network.center in (source, target):
            mx, my = (x1 + x2) / 2, (y1 + y2) / 2
            parts.append(
                Markup('<text class="edge-label" x="{:.1f}" y="{:.1f}">{}</text>').format(
                    mx, my - 3, text
                )
            )
        parts.append(Markup("</g>"))
    parts.append(Markup('</g><g class="nodes">'))
    aliases: dict[str, str] = {}
    highlighted = set(highlight)
    for node in network.nodes:
        x, y = positions[node.id]
        if node.node_type == "person":
            shown_id = aliases.setdefault(node.id, f"person-{len(aliases) + 1}")
        else:
            shown_id = node.id
        risk = node_risk(node, linked_notable)
        classes = ["node", node.node_type, risk]
        if node.id == network.center:
            classes.append("center")
        if not node.known:
            classes.append("unknown")
        if node.id in highlighted:
            classes.append("control")
        attributes = {
            "class": " ".join(classes),
            "data-id": shown_id,
            "data-type": node.node_type,
            "data-risk": risk.removeprefix("risk-"),
            "data-hops": node.hops,
            "transform": f"translate({x:.1f},{y:.1f})",
        }
        label = node.id if node.node_type == "enterprise" else ""
        parts.append(Markup("<g {}>").format(_attrs(attributes)))
        parts.append(Markup("<title>{}</title>").format(_node_title(node, label)))
        linked = node.node_type == "enterprise" and node.known and node.id != network.center
        if linked:
            parts.append(Markup('<a href="{}">').format(link.format(id=node.id)))
        r = radius[node.id]
        if node.node_type == "person":
            square = '<rect x="{0:.1f}" y="{0:.1f}" width="{1:.1f}" height="{1:.1f}" rx="2"/>'
            parts.append(Markup(square).format(-r, 2 * r))
        else:
            parts.append(Markup('<circle r="{:.1f}"/>').format(r))
        if labelled or node.hops <= 1:
            parts.append(
                Markup('<text class="node-label" y="{:.1f}">{}</text>').format(
                    r + 13, node.name if node.id == network.center else _short(node.name)
                )
            )
        if linked:
            parts.append(Markup("</a>"))
        parts.append(Markup("</g>"))
    parts.append(Markup("</g></svg>"))
    return Markup("").join(parts)
