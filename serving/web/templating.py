"""The credit-office pages' templates: Jinja2, autoescaped, strict, ID numbers masked.

Templates and the style sheet ship inside the package (``serving/web/templates``,
``serving/web/static``) and are loaded with the package loader, so an installed wheel serves
them. The filters format numbers, percentages, Beijing times, statuses, domains and enterprise
kinds in Chinese.
"""

from __future__ import annotations

from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from risk.contract import Domain, EnterpriseKind, EnterpriseStatus, zh_label
from risk.identifiers import contains_id_number, mask_id_numbers
from risk.warnings import STATUS_LABELS, WarningStatus
from serving.display import BEIJING, display_time

__all__ = ["BEIJING", "templates"]  # BEIJING: serving.display's, re-exported


def _number(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    return f"{float(value):.{digits}f}"


def _percent(value: Any) -> str:
    return "—" if value is None else f"{float(value):.0%}"


def _when(value: Any) -> str:
    return display_time(value)


def _status(value: Any) -> str:
    return STATUS_LABELS[WarningStatus(value)]


def _domain(value: Any) -> str:
    return zh_label(Domain(value))


_ENTERPRISE_ENUMS: dict[str, type[EnterpriseKind] | type[EnterpriseStatus]] = {
    "kind": EnterpriseKind,
    "status": EnterpriseStatus,
}


def _enterprise_label(value: Any, what: str) -> str:
    try:
        return zh_label(_ENTERPRISE_ENUMS[what](value))
    except ValueError:
        return str(value)


def _without_id_numbers(value: Any) -> Any:
    """What every ``{{ … }}`` of a page prints: resident ID numbers masked.

    Pages are read over shoulders, printed and screenshotted; a store ingested before ingest
    refused ID numbers may still hold them in names and records' texts. Masking keeps the
    digits' places, so the network picture's markup stays valid.
    """
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    if not contains_id_number(text):
        return value
    masked = mask_id_numbers(text)
    return Markup(masked) if isinstance(value, Markup) else masked


def templates() -> Jinja2Templates:
    """The page templates, autoescaped, strict about undefined names, ID numbers masked."""
    environment = Environment(
        loader=PackageLoader("serving.web", "templates"),
        autoescape=select_autoescape(("html",)),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_without_id_numbers,
    )
    environment.filters.update(
        num=_number,
        percent=_percent,
        when=_when,
        status=_status,
        domain=_domain,
        label=_enterprise_label,
    )
    return Jinja2Templates(env=environment)
