"""The warnings store: rule hits become warnings with a lifecycle (预警处置闭环).

:func:`run_warnings` evaluates the rules of :mod:`risk.rules` on a date and upserts the hits
into the ``warnings`` table; :func:`transition` moves a warning along its lifecycle; every
change is appended to ``warning_events`` (never updated or deleted). :func:`list_warnings`
and :func:`notice_frame` serve the CLI, the future API and the 通报 list sent to regulators.

Upsert rules
------------
A warning is identified by (enterprise, rule). On each run, for each hit:

* **an open warning exists** (status new, dispatched or acknowledged): if the evidence
  fingerprint (:func:`risk.rules.evidence_fingerprint`: the cited record ids and related
  enterprises, never the decaying scores), the level or the domains changed, the warning is
  updated in place — status kept — and an event ``status → status`` records what changed;
  otherwise nothing is written. Re-running never duplicates an open warning, and the partial
  unique index ``ux_warnings_open`` makes a duplicate impossible even for concurrent runs.
* **only closed warnings exist**: a **new row** (status ``new``, ``previous_id`` = the latest
  closed one) is created only if the hit cites a record id absent from the latest closed
  warning's evidence (new evidence); otherwise the hit is *suppressed*. A new row, rather
  than reviving the closed one, keeps what was dispatched, acknowledged and closed intact
  for the record, and the new evidence goes through the lifecycle again.
* **no warning exists**: a new row with status ``new``.

The stored evidence is a snapshot of the run that created or last changed the warning (its
``as_of``): values that drift daily without new records, such as a decaying linked risk, are
not rewritten. A run writes in one transaction; of two concurrent runs creating the same
warning, the second fails on ``ux_warnings_open`` and can simply be retried.

Open warnings whose rule no longer fires (the records expired or were repaired) are left as
they are and reported as *stale* in the :class:`RunSummary`: once dispatched, a warning is in
a regulator's hands and only a person closes it.

Lifecycle
---------
==================  ===========================  =========================================
from                to                           meaning
==================  ===========================  =========================================
(none)              ``new`` 待处理                created by a run
``new``             ``dispatched`` 已通报          sent to the regulator(s)
``new``             ``closed`` 已办结              dismissed before dispatch (note required)
``dispatched``      ``acknowledged`` 已签收        the regulator confirmed receipt
``acknowledged``    ``closed`` 已办结              handled (note required)
==================  ===========================  =========================================

Any other move raises :class:`~risk.exceptions.IllegalTransitionError`; a closed warning never
moves again (new evidence opens a new one).

Modules
-------
:mod:`~risk.warnings.status` the statuses, moves and values; :mod:`~risk.warnings.run` the
runs and the upsert; :mod:`~risk.warnings.lifecycle` :func:`transition`;
:mod:`~risk.warnings.queries` the reads and the 通报 list.
"""

from risk.warnings.lifecycle import transition
from risk.warnings.queries import (
    NOTICE_COLUMNS,
    WarningPage,
    get_warning,
    list_warnings,
    notice_frame,
    warning_events,
)
from risk.warnings.run import RunSummary, run_warnings, upsert_hits
from risk.warnings.status import (
    OPEN_STATUSES,
    STATUS_LABELS,
    SYSTEM_ACTOR,
    TRANSITIONS,
    WarningEvent,
    WarningRecord,
    WarningStatus,
)

__all__ = [
    "NOTICE_COLUMNS",
    "OPEN_STATUSES",
    "STATUS_LABELS",
    "SYSTEM_ACTOR",
    "TRANSITIONS",
    "RunSummary",
    "WarningEvent",
    "WarningPage",
    "WarningRecord",
    "WarningStatus",
    "get_warning",
    "list_warnings",
    "notice_frame",
    "run_warnings",
    "transition",
    "upsert_hits",
    "warning_events",
]
