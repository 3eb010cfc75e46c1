"""The roles of API keys (DESIGN.md §7): one enumeration for the keys, the routes' checks, the
web pages and the command line.

Kept apart from :mod:`serving.keys` (which needs the store) so that the command line can offer
the roles as choices without importing SQLAlchemy: see :mod:`serving.cli.common`.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["KeyRole"]


class KeyRole(StrEnum):
    """What a key may do (:mod:`serving.keys` has the table of roles)."""

    bank = "bank"
    credit_office = "credit_office"
    analyst = "analyst"
    admin = "admin"
