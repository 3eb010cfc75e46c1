"""The linked-entity graph as of a date (关联关系图谱): nodes, typed dated edges, CSR arrays.

Nodes are enterprises (keyed by 统一社会信用代码) and natural persons (keyed by ``person_id``).
A holder that appears only in the roles table (an unregistered person, a shareholder enterprise
from another province) is kept as a node and flagged ``known = False``.

Edges come from the roles table and point from the holder to the enterprise
(``roles.holder_id`` → ``roles.uscc``): 法定代表人 ``legal_rep``, 股东 ``shareholder`` (with its
share), 高管 ``executive`` and 分支机构 ``branch_of`` (holder = the parent enterprise, uscc = the
branch). A snapshot as of date t holds the edges present on t, ``start ≤ t < end`` (a missing
end is open); self-loops (holder = enterprise) are dropped and counted.

Bulk math runs on CSR arrays; networkx is used only for small neighbourhoods
(:meth:`GraphSnapshot.ego_graph`), never for the whole province.

Modules
-------
:mod:`~risk.graph.codes` the edge coding (role codes, the up/down direction, role labels);
:mod:`~risk.graph.csr` the CSR neighbourhood structure of the edges;
:mod:`~risk.graph.snapshot` :class:`GraphSnapshot`, its constructors and its queries.
"""

from risk.graph.codes import ROLE_CODES, role_text
from risk.graph.snapshot import ENTERPRISE_ATTRIBUTES, GraphSnapshot

__all__ = [
    "ENTERPRISE_ATTRIBUTES",
    "ROLE_CODES",
    "GraphSnapshot",
    "role_text",
]
