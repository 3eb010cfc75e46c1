"""The one check of a bank's authorization and of a USCC, for headers, paths and bodies alike
(:mod:`serving.checks`); the routes' own tests call them through HTTP."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from risk.exceptions import InvalidIdentifierError
from serving.audit import Purpose
from serving.checks import (
    BODY_FIELDS,
    HEADER_FIELDS,
    AuthorizationRef,
    check_authorization,
    checked_uscc,
)
from serving.exceptions import AuthorizationReferenceError

TODAY = date(2026, 6, 30)
EXPIRES = TODAY + timedelta(days=30)
ID_NUMBER = "11010519491231002X"


def _check(**sent: object) -> AuthorizationRef:
    values: dict[str, object] = {
        "authorization_id": "SQ-1",
        "purpose": Purpose.pre_credit,
        "expires": EXPIRES,
        "granted": None,
        "fields": HEADER_FIELDS,
        "today": TODAY,
        "max_days": 366,
    }
    values.update(sent)
    return check_authorization(**values)  # type: ignore[arg-type]


def test_a_valid_authorization_is_returned_as_a_reference() -> None:
    assert _check() == AuthorizationRef("SQ-1", Purpose.pre_credit, EXPIRES)
    assert _check(fields=BODY_FIELDS, granted=TODAY).id == "SQ-1"


@pytest.mark.parametrize(
    ("fields", "sent", "missing"),
    [
        (HEADER_FIELDS, {"authorization_id": None}, "X-Authorization-Id"),
        (HEADER_FIELDS, {"purpose": None, "expires": None}, "X-Authorization-Purpose"),
        (BODY_FIELDS, {"granted": None}, "authorization.granted_at"),
        (BODY_FIELDS, {"granted": None, "expires": None}, "authorization.granted_at"),
        (BODY_FIELDS, {"granted": TODAY, "expires": None}, "authorization.expires_at"),
    ],
)
def test_the_first_missing_field_is_named_as_the_caller_sent_it(
    fields: object, sent: dict[str, object], missing: str
) -> None:
    with pytest.raises(AuthorizationReferenceError, match=f"missing {missing}") as refused:
        _check(fields=fields, **sent)
    assert (refused.value.code, refused.value.field) == ("authorization_required", missing)


def test_headers_need_no_grant_date_and_bodies_do() -> None:
    _check(fields=HEADER_FIELDS, granted=None)
    with pytest.raises(AuthorizationReferenceError, match=r"authorization\.granted_at"):
        _check(fields=BODY_FIELDS, granted=None)


@pytest.mark.parametrize(
    ("sent", "code", "field"),
    [
        ({"authorization_id": f"SQ-{ID_NUMBER}"}, "authorization_invalid", "id"),
        ({"expires": TODAY - timedelta(days=1)}, "authorization_expired", "expires_at"),
        ({"granted": TODAY + timedelta(days=1)}, "authorization_not_yet_valid", "granted_at"),
        ({"expires": TODAY + timedelta(days=367)}, "authorization_too_long", "expires_at"),
        ({"purpose": Purpose.post_loan}, "authorization_purpose", "purpose"),
    ],
)
def test_each_refusal_names_its_code_and_field(
    sent: dict[str, object], code: str, field: str
) -> None:
    values: dict[str, object] = {"fields": BODY_FIELDS, "granted": TODAY}
    values.update(sent)
    with pytest.raises(AuthorizationReferenceError) as refused:
        _check(purposes=(Purpose.pre_credit, Purpose.credit_approval), **values)
    assert (refused.value.code, refused.value.field) == (code, f"authorization.{field}")
    assert ID_NUMBER not in str(refused.value)


def test_any_purpose_passes_where_the_route_admits_any() -> None:
    assert _check(purpose=Purpose.post_loan).purpose == Purpose.post_loan


def test_a_uscc_is_normalised_or_refused_naming_the_check_and_where_it_was_sent() -> None:
    assert checked_uscc(" 91110000600037341l ", ()) == "91110000600037341L"
    with pytest.raises(InvalidIdentifierError, match="uscc") as refused:
        checked_uscc("91110000600037341X", (), location="body")
    assert refused.value.check == "check_character"
    assert refused.value.location == "body"  # type: ignore[attr-defined]
    with pytest.raises(InvalidIdentifierError) as in_path:
        checked_uscc("123", ())
    assert (in_path.value.check, in_path.value.location) == ("length", "path")  # type: ignore[attr-defined]


def test_an_allow_listed_pilot_code_passes() -> None:
    assert checked_uscc("91110000600037341X", ("91110000600037341X",)) == "91110000600037341X"
