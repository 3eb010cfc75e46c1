"""HTTP routes of the API, one module per audience; they hold only HTTP concerns: parameters,
status codes, headers, who may call (→ :mod:`serving.deps`) — the work is done by the modules
behind them (:mod:`serving.crud`, :mod:`serving.precredit`, :mod:`serving.outcomes`).

``health`` (operations: /healthz, /readyz, /metrics), ``warnings`` (credit office),
``entities`` (banks, credit office, analysts), ``precredit`` (banks' assessments),
``outcomes`` (banks' loan outcomes), ``models`` (analysts, admin), ``records`` (live
updates of records: credit office, admin; the work in :mod:`serving.live`). The credit office's web
pages are :mod:`serving.web`.
"""

from serving.routes import entities, health, models, outcomes, precredit, records, warnings

__all__ = ["entities", "health", "models", "outcomes", "precredit", "records", "warnings"]
