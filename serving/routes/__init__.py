"""HTTP routes, one module per audience; they hold only HTTP concerns (→ deps → crud).

``health`` (operations: /healthz, /readyz, /metrics), ``warnings`` (credit office),
``entities`` (banks, credit office, analysts), ``ui`` (the credit office's web pages). The
pre-credit work adds ``assessments`` (banks) and ``models`` (analysts, admin) here and
includes them in :mod:`serving.app`.
"""

from serving.routes import entities, health, ui, warnings

__all__ = ["entities", "health", "ui", "warnings"]
