"""Live updates: a new or changed record rescores only its neighbourhood, as a delta.

:func:`apply_records` ingests rows through the validated ingest (quarantine included),
finds what they changed in the store, reads the region around it (:func:`load_region`),
recomputes the linked risk, rules, grades and — with a callback — assessments of the
enterprises the change can move, and appends the rows that differ to the current score set
with their events (:func:`risk.scoresets.write_delta`). The result equals a full recompute
of the set's date for every row it writes: :mod:`risk.live.compute` says why.

Modules
-------
:mod:`~risk.live.apply` the entry point, retries and the result; :mod:`~risk.live.changes`
what an ingest changed and which nodes that touches; :mod:`~risk.live.region` the store walk;
:mod:`~risk.live.compute` the local recompute.
"""

from risk.live.apply import (
    MAX_ATTEMPTS,
    Assess,
    LiveResult,
    LiveScope,
    apply_paths,
    apply_records,
)
from risk.live.changes import StoredChange, changed_nodes, stored_change
from risk.live.compute import LocalScores, recompute
from risk.live.region import Region, RelatedGroups, load_groups, load_region

__all__ = [
    "MAX_ATTEMPTS",
    "Assess",
    "LiveResult",
    "LiveScope",
    "LocalScores",
    "Region",
    "RelatedGroups",
    "StoredChange",
    "apply_paths",
    "apply_records",
    "changed_nodes",
    "load_groups",
    "load_region",
    "recompute",
    "stored_change",
]
