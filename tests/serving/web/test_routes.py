"""The credit office's web pages through the ASGI app: login, pages, filters, status actions,
CSRF, the entity page's network picture with persons masked, error pages, logout; server-side
sessions (logout and key revocation end them at once) and the login lockout."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from risk.groups import related_groups, shared_person_links
from risk.identifiers import contains_id_number, mask_name
from risk.store import login_failures, read_table
from risk.warnings import WarningStatus, get_warning, list_warnings, warning_events
from serving.app import create_app
from serving.keys import authenticate, create_key, revoke_key
from serving.roles import KeyRole
from serving.web.sessions import (
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    CookieSigner,
    encode_session,
    new_session,
)
from tests.serving.conftest import ApiCounty


@pytest.fixture(scope="module")
def api_county(own_county: ApiCounty) -> ApiCounty:
    """This module moves warnings and creates and revokes keys: a county of its own."""
    return own_county


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FLASH = re.compile(r'<p class="flash (ok|error)"[^>]*>(.*?)</p>', re.S)
NODE = re.compile(r'<g class="node ([^"]*)" data-id="([^"]*)" data-type="(\w+)"')


@pytest.fixture(scope="module")
def app(api_county: ApiCounty) -> Iterator[FastAPI]:
    """The app on the module's county, lifespan run once."""
    application = create_app(api_county.settings)
    with TestClient(application):
        yield application


@pytest.fixture
def browser(app: FastAPI) -> TestClient:
    """A fresh client (its own cookie jar) of the module's app."""
    return TestClient(app, follow_redirects=False)


def login(browser: TestClient, token: str) -> str:
    """Log in with ``token``; return the session's CSRF token."""
    response = browser.post("/ui/login", data={"api_key": token})
    assert response.status_code == 303, response.text
    page = browser.get("/ui/warnings")
    assert page.status_code == 200
    match = CSRF.search(page.text)
    assert match
    return match.group(1)


@pytest.fixture
def office(browser: TestClient, api_county: ApiCounty) -> tuple[TestClient, str]:
    """A browser logged in as the credit office, and its CSRF token."""
    return browser, login(browser, api_county.tokens[KeyRole.credit_office])


def flash_of(response: Response) -> tuple[str, str] | None:
    match = FLASH.search(response.text)
    return (match.group(1), match.group(2)) if match else None


def total_of(response: Response) -> int:
    match = re.search(r'id="total">(\d+)<', response.text)
    assert match, response.text[:500]
    return int(match.group(1))


# --------------------------------------------------------------------------- login


def test_pages_need_a_login_and_come_back_after_it(
    browser: TestClient, api_county: ApiCounty
) -> None:
    response = browser.get("/ui/warnings?level=red")
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login?next=%2Fui%2Fwarnings%3Flevel%3Dred"
    form = browser.get(response.headers["location"])
    assert form.status_code == 200
    assert "<h1>登录信用办工作台</h1>" in form.text
    assert 'value="/ui/warnings?level=red"' in form.text

    logged_in = browser.post(
        "/ui/login",
        data={
            "api_key": api_county.tokens[KeyRole.credit_office],
            "next": "/ui/warnings?level=red",
        },
    )
    assert logged_in.status_code == 303
    assert logged_in.headers["location"] == "/ui/warnings?level=red"
    cookies = logged_in.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith(f"{SESSION_COOKIE}="))
    assert "HttpOnly" in session and "SameSite=lax" in session and "Path=/ui" in session
    assert f"Max-Age={SESSION_MAX_AGE}" in session
    assert api_county.tokens[KeyRole.credit_office] not in " ".join(cookies)
    page = browser.get("/ui/warnings?level=red")
    assert page.status_code == 200
    assert "<h1>屡禁不止、屡罚不改预警</h1>" in page.text
    assert flash_of(page) == ("ok", "欢迎，清源县信用办/李四。")
    assert flash_of(browser.get("/ui/warnings")) is None  # shown once
    assert browser.get("/ui").headers["location"] == "/ui/warnings"


@pytest.mark.parametrize("token", ["", "clk_not-a-real-key", "not even a key"])
def test_a_bad_key_is_refused(browser: TestClient, token: str) -> None:
    response = browser.post("/ui/login", data={"api_key": token})
    assert response.status_code == 401
    assert "密钥无效、已吊销或不是 credlink 密钥" in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert browser.get("/ui/warnings").status_code == 303


@pytest.mark.parametrize(("role", "label"), [(KeyRole.bank, "银行"), (KeyRole.analyst, "分析人员")])
def test_other_roles_are_refused_in_chinese(
    browser: TestClient, api_county: ApiCounty, role: KeyRole, label: str
) -> None:
    response = browser.post("/ui/login", data={"api_key": api_county.tokens[role]})
    assert response.status_code == 403
    assert f"该密钥的角色是「{label}」，网页仅供信用办（credit_office）和管理员" in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert browser.get("/ui/warnings").status_code == 303


def test_admins_may_use_the_pages(browser: TestClient, api_county: ApiCounty) -> None:
    login(browser, api_county.tokens[KeyRole.admin])
    assert "清源县信用办/管理员（管理员）" in browser.get("/ui/warnings").text


def test_next_never_leaves_the_pages(browser: TestClient, api_county: ApiCounty) -> None:
    for target in ("https://evil.example/", "//evil.example/ui", "/v1/warnings", "/ui\r\nX: y"):
        response = browser.post(
            "/ui/login",
            data={"api_key": api_county.tokens[KeyRole.credit_office], "next": target},
        )
        assert response.headers["location"] == "/ui/warnings", target


def test_forged_expired_and_revoked_sessions_log_out(
    browser: TestClient, app: FastAPI, api_county: ApiCounty
) -> None:
    browser.cookies.set(SESSION_COOKIE, "eyJrIjoxfQ.forged", path="/ui")
    assert browser.get("/ui/warnings").status_code == 303

    login(browser, api_county.tokens[KeyRole.credit_office])
    signer: CookieSigner = app.state.ui_signers.session
    old = new_session(key_id=2, now=1_000_000_000)
    browser.cookies.clear()
    browser.cookies.set(SESSION_COOKIE, encode_session(signer, old), path="/ui")
    expired = browser.get("/ui/warnings")
    assert expired.status_code == 303
    assert flash_of(browser.get(expired.headers["location"])) == (
        "error",
        "登录已过期，请重新登录。",
    )

    temporary = create_key(api_county.engine, KeyRole.credit_office, "清源县信用办", "临时")
    login(browser, temporary.token)
    revoke_key(api_county.engine, temporary.key.id)
    revoked = browser.get("/ui/warnings")
    assert revoked.status_code == 303
    assert "吊销" in flash_of(browser.get(revoked.headers["location"]))[1]  # type: ignore[index]


def test_a_signed_cookie_without_a_stored_session_is_refused(
    browser: TestClient, app: FastAPI, api_county: ApiCounty
) -> None:
    # Signed with the service's own key (as a stolen key or an old backup would allow) and
    # fresh, but no login ever recorded this session: refused at once.
    login(browser, api_county.tokens[KeyRole.credit_office])
    signer: CookieSigner = app.state.ui_signers.session
    office_key = authenticate(api_county.engine, api_county.tokens[KeyRole.credit_office])
    unrecorded = new_session(key_id=office_key.id, now=int(time.time()))
    browser.cookies.clear()
    browser.cookies.set(SESSION_COOKIE, encode_session(signer, unrecorded), path="/ui")
    refused = browser.get("/ui/warnings")
    assert refused.status_code == 303
    assert flash_of(browser.get(refused.headers["location"])) == ("error", "登录无效，请重新登录。")


def test_logout_ends_the_session(office: tuple[TestClient, str], app: FastAPI) -> None:
    browser, csrf = office
    cookie = browser.cookies[SESSION_COOKIE]
    copied = TestClient(app, follow_redirects=False)  # the same cookie in another browser
    copied.cookies.set(SESSION_COOKIE, cookie, path="/ui")
    assert copied.get("/ui/warnings").status_code == 200

    assert browser.post("/ui/logout", data={}).status_code == 403  # CSRF: no token
    response = browser.post("/ui/logout", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login"
    assert SESSION_COOKIE not in browser.cookies
    assert browser.get("/ui/warnings").status_code == 303

    # The old cookie, sent again (kept by the browser or copied elsewhere), is refused at once.
    for client in (browser, copied):
        client.cookies.set(SESSION_COOKIE, cookie, path="/ui")
        refused = client.get("/ui/warnings")
        assert refused.status_code == 303
        assert refused.headers["location"].startswith("/ui/login")
        assert flash_of(client.get(refused.headers["location"])) == (
            "error",
            "您已退出登录，请重新登录。",
        )
    assert (
        copied.post("/ui/warnings/1/status", data={"csrf_token": csrf, "to_status": "dispatched"})
        .headers["location"]
        .startswith("/ui/login")
    )


# --------------------------------------------------------------------------- login lockout

WINDOW = 2  # seconds


@pytest.fixture(scope="module")
def strict_app(api_county: ApiCounty) -> Iterator[FastAPI]:
    """The pages with a lockout after 3 failures within 2 s."""
    settings = api_county.settings.model_copy(
        update={"login_max_failures": 3, "login_window_seconds": WINDOW}
    )
    application = create_app(settings)
    with TestClient(application):
        yield application


def _attempt(app: FastAPI, address: str, token: str) -> Response:
    client = TestClient(app, follow_redirects=False, client=(address, 40000))
    return client.post("/ui/login", data={"api_key": token})


def test_a_client_is_locked_out_after_failed_logins_and_let_in_after_the_window(
    strict_app: FastAPI, api_county: ApiCounty
) -> None:
    office = api_county.tokens[KeyRole.credit_office]
    for n in range(3):
        assert _attempt(strict_app, "192.0.2.10", f"clk_guess{n:03d}xxxxxx").status_code == 401
    started = time.monotonic()
    locked = _attempt(strict_app, "192.0.2.10", office)  # even the right key: not checked
    assert locked.status_code == 429
    assert 1 <= int(locked.headers["retry-after"]) <= WINDOW
    assert "登录失败次数过多，已暂停登录" in locked.text
    assert SESSION_COOKIE not in locked.headers.get("set-cookie", "")
    assert locked.headers["x-frame-options"] == "DENY"
    # Another address is not affected.
    assert _attempt(strict_app, "192.0.2.11", office).status_code == 303
    # Refused attempts do not extend the lockout: after the window the key is checked again.
    assert _attempt(strict_app, "192.0.2.10", office).status_code == 429
    time.sleep(max(0.0, WINDOW + 0.2 - (time.monotonic() - started)))
    assert _attempt(strict_app, "192.0.2.10", office).status_code == 303


def test_one_key_prefix_is_locked_out_whatever_the_address(
    strict_app: FastAPI, api_county: ApiCounty
) -> None:
    # Someone who knows a key's listed prefix guesses the rest from many addresses.
    prefix = "clk_PrEfIx42"
    for n in range(3):
        response = _attempt(strict_app, f"198.51.100.{n}", f"{prefix}guess{n}")
        assert response.status_code == 401
    assert _attempt(strict_app, "198.51.100.99", f"{prefix}another").status_code == 429
    # Valid keys and wrong roles are not failures: they never lock anybody out.
    bank = api_county.tokens[KeyRole.bank]
    for _ in range(4):
        assert _attempt(strict_app, "203.0.113.5", bank).status_code == 403
    assert _attempt(strict_app, "203.0.113.5", api_county.tokens[KeyRole.admin]).status_code == 303


def test_what_is_typed_as_a_key_is_not_stored(strict_app: FastAPI, api_county: ApiCounty) -> None:
    typed = "340321199001011236 张三"  # someone types personal data into the key field
    assert contains_id_number(typed)
    assert _attempt(strict_app, "192.0.2.77", typed).status_code == 401
    with api_county.engine.connect() as conn:
        rows = conn.execute(select(login_failures)).mappings().all()
    assert rows and all(not contains_id_number(str(dict(r))) for r in rows)
    assert {r["key_prefix"] for r in rows if r["client"] == "192.0.2.77"} == {None}


# --------------------------------------------------------------------------- pages


def test_every_page_renders_in_chinese(
    office: tuple[TestClient, str], api_county: ApiCounty
) -> None:
    browser, _ = office
    warning = list_warnings(api_county.engine, rule="linked_risk", limit=1).items[0]
    expected = {
        "/ui/warnings": ["屡禁不止、屡罚不改预警", "预警等级", "主管部门", "处置状态"],
        f"/ui/warnings/{warning.id}": ["证据", "关联路径", "处置记录", "规则触发：关联风险"],
        f"/ui/entities/{api_county.warned_uscc}": [
            "关联关系图谱（二度）",
            "实际控制人",
            "主要风险来源",
            "信用记录",
            "信用风险分类",
        ],
        "/ui/models": ["信易贷预授信模型", "尚无已注册模型"],
    }
    for path, texts in expected.items():
        response = browser.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert '<html lang="zh-CN">' in response.text
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["cache-control"] == "no-store"
        for text in texts:
            assert text in response.text, (path, text)


def test_the_pages_are_not_in_the_api_document(browser: TestClient, api_county: ApiCounty) -> None:
    admin = {"X-API-Key": api_county.tokens[KeyRole.admin]}
    paths = browser.get("/openapi.json", headers=admin).json()["paths"]
    assert not [p for p in paths if p.startswith("/ui")]
    css = browser.get("/ui/static/credlink.css")
    assert css.status_code == 200 and "svg.network" in css.text
    missing = browser.get("/ui/no-such-page")
    assert missing.status_code == 404 and "<h1>页面不存在</h1>" in missing.text


@pytest.mark.parametrize(
    "params",
    [
        {"level": "red"},
        {"rule": "suspected_shell"},
        {"regulator": "税务局"},
        {"regulator": "taxation"},
        {"level": "orange", "regulator": "市场监管局"},
        {"status": "new", "rule": "after_commitment"},
    ],
)
def test_filters_agree_with_the_store(
    office: tuple[TestClient, str], api_county: ApiCounty, params: dict[str, str]
) -> None:
    browser, _ = office
    expected = list_warnings(api_county.engine, limit=1000, **params)
    response = browser.get("/ui/warnings", params={"level": "", **params})  # blank = all
    assert response.status_code == 200
    assert total_of(response) == expected.total > 0
    shown = [int(i) for i in re.findall(r'data-warning-id="(\d+)"', response.text)]
    assert shown == [w.id for w in expected.items]
    selected = re.findall(r'<option value="([^"]+)" selected>', response.text)
    assert set(selected) == {"税务局" if v == "taxation" else v for v in params.values()}
    assert total_of(browser.get("/ui/warnings")) == 17  # no 换壳 founded before a listing


@pytest.mark.parametrize(
    "params", [{"level": "purple"}, {"regulator": "气象局"}, {"status": "lost"}, {"page": "0"}]
)
def test_a_bad_filter_is_a_chinese_422_page(
    office: tuple[TestClient, str], params: dict[str, str]
) -> None:
    browser, _ = office
    response = browser.get("/ui/warnings", params=params)
    assert response.status_code == 422
    assert "<h1>请求参数无效</h1>" in response.text
    assert response.headers["content-type"].startswith("text/html")


# --------------------------------------------------------------------------- status actions


def _move(browser: TestClient, csrf: str, warning_id: int, status: str, note: str = "") -> Response:
    response = browser.post(
        f"/ui/warnings/{warning_id}/status",
        data={"csrf_token": csrf, "to_status": status, "note": note, "next": "/ui/warnings"},
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/ui/warnings"
    return browser.get(response.headers["location"])


def test_a_warning_goes_through_its_lifecycle_from_the_pages(
    office: tuple[TestClient, str], api_county: ApiCounty
) -> None:
    browser, csrf = office
    warning = list_warnings(api_county.engine, rule="same_domain_frequent", limit=1).items[0]
    assert warning.status == WarningStatus.new

    page = _move(browser, csrf, warning.id, "dispatched", "已通报市场监管局")
    assert flash_of(page) == ("ok", f"预警 {warning.id} 已改为「已通报」")
    assert get_warning(api_county.engine, warning.id).status == WarningStatus.dispatched
    row = re.search(rf'data-warning-id="{warning.id}" data-status="(\w+)"', page.text)
    assert row and row.group(1) == "dispatched"

    _move(browser, csrf, warning.id, "acknowledged")
    assert get_warning(api_county.engine, warning.id).status == WarningStatus.acknowledged
    refused = _move(browser, csrf, warning.id, "closed")  # closing needs a note
    assert flash_of(refused) == ("error", f"预警 {warning.id} 未变更：办结预警须填写处置说明")
    _move(browser, csrf, warning.id, "closed", "已约谈企业并完成整改")

    events = warning_events(api_county.engine, warning.id)
    assert [e.to_status for e in events] == list(WarningStatus)
    assert {e.actor for e in events[1:]} == {"清源县信用办/李四"}
    assert events[-1].note == "已约谈企业并完成整改"
    detail = browser.get(f"/ui/warnings/{warning.id}").text
    assert "已约谈企业并完成整改" in detail and "已办结" in detail
    assert 'name="to_status"' not in detail  # no moves left


def test_an_illegal_move_is_a_message_not_an_error(
    office: tuple[TestClient, str], api_county: ApiCounty
) -> None:
    browser, csrf = office
    warning = list_warnings(api_county.engine, rule="after_repair", status="new", limit=1).items[0]
    page = _move(browser, csrf, warning.id, "acknowledged")
    assert flash_of(page) == (
        "error",
        f"预警 {warning.id} 当前状态为「待处理」，不能改为「已签收」；"
        "可执行的操作：通报主管部门、办结",
    )
    assert flash_of(_move(browser, csrf, warning.id, "reopened")) == (
        "error",
        f"预警 {warning.id} 未变更：目标状态无效",
    )
    assert get_warning(api_county.engine, warning.id).status == WarningStatus.new
    missing = browser.post(
        "/ui/warnings/999999/status", data={"csrf_token": csrf, "to_status": "dispatched"}
    )
    assert missing.status_code == 404 and "<h1>未找到该预警</h1>" in missing.text
    assert browser.get("/ui/warnings/999999").status_code == 404
    assert browser.get("/ui/warnings/abc").status_code == 422


def test_a_form_without_the_session_token_is_refused(
    office: tuple[TestClient, str], app: FastAPI, api_county: ApiCounty
) -> None:
    office_browser, csrf = office
    warning = list_warnings(api_county.engine, rule="after_repair", status="new", limit=1).items[0]
    other = TestClient(app, follow_redirects=False)
    other_csrf = login(other, api_county.tokens[KeyRole.credit_office])
    assert other_csrf != csrf
    for token in (None, "", "forged", other_csrf, csrf + "x", "令牌"):
        data = {"to_status": "dispatched"}
        if token is not None:
            data["csrf_token"] = token
        response = office_browser.post(f"/ui/warnings/{warning.id}/status", data=data)
        assert response.status_code == 403, token
        assert "<h1>表单已失效</h1>" in response.text
    assert get_warning(api_county.engine, warning.id).status == WarningStatus.new
    anonymous = TestClient(app, follow_redirects=False).post(
        f"/ui/warnings/{warning.id}/status", data={"csrf_token": csrf, "to_status": "dispatched"}
    )
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/ui/login")
    assert get_warning(api_county.engine, warning.id).status == WarningStatus.new


# --------------------------------------------------------------------------- entity page


def test_the_entity_page_draws_the_network_with_persons_masked(
    office: tuple[TestClient, str], api_county: ApiCounty
) -> None:
    browser, _ = office
    for uscc in (api_county.warned_uscc, api_county.linked_uscc):
        page = browser.get(f"/ui/entities/{uscc}").text
        svg = page[page.index("<svg") : page.index("</svg>")]
        nodes = NODE.findall(svg)
        assert len(nodes) >= 2
        assert svg.count('<g class="node ') == svg.count("<title>", svg.index('class="nodes"'))
        centre = [n for n in nodes if "center" in n[0].split()]
        assert [n[1] for n in centre] == [uscc]
        persons = [n for n in nodes if n[2] == "person"]
        assert persons and all(re.fullmatch(r"person-\d+", n[1]) for n in persons)
        assert all({"risk-own", "risk-linked", "risk-none"} & set(n[0].split()) for n in nodes)
        assert re.search(r'data-label="[^"]*(法定代表人|股东)', svg)
        leaked = [s for s in api_county.secrets_of_persons() if s in page]
        assert leaked == []
    assert "公示中至" in browser.get(f"/ui/entities/{api_county.warned_uscc}").text


def test_the_entity_page_shows_weak_links_apart_from_the_group(
    office: tuple[TestClient, str], api_county: ApiCounty
) -> None:
    browser, _ = office
    roles = read_table(api_county.engine, "roles")
    links = shared_person_links(roles, api_county.as_of)
    groups = related_groups(roles, api_county.as_of).set_index("uscc")["group_id"]
    # An enterprise with few weak links, one of them to a firm outside its related group.
    counts = links.groupby("uscc").size()
    outside = links[
        links["uscc"].map(groups).fillna(links["uscc"])
        != links["other_uscc"].map(groups).fillna(links["other_uscc"])
    ]
    uscc = next(u for u in outside["uscc"] if counts[u] <= 5)
    mine = links[links["uscc"] == uscc]
    page = browser.get(f"/ui/entities/{uscc}").text
    section = page[page.index("<h2>弱关联 / weak links</h2>") : page.index("<h2>主要风险来源</h2>")]
    rows = re.findall(r'<tr><td><a href="/ui/entities/([^"]+)">', section)
    assert rows == mine["other_uscc"].tolist()
    persons = api_county.persons.set_index("person_id")["name"]
    for person_id, shown_roles in zip(mine["person_id"], mine["roles"], strict=True):
        assert f"<td>{mask_name(persons[person_id])}</td><td>{shown_roles}</td>" in section
        assert person_id not in page
    assert [s for s in api_county.secrets_of_persons() if s in page] == []
    lonely = next(u for u in groups.index if u not in set(links["uscc"]))
    assert "没有弱关联" in browser.get(f"/ui/entities/{lonely}").text


def test_the_entity_page_lists_historical_records_with_their_status(
    office: tuple[TestClient, str], api_county: ApiCounty
) -> None:
    browser, _ = office
    labels: set[str] = set()
    for warning in list_warnings(api_county.engine, limit=25).items:
        page = browser.get(f"/ui/entities/{warning.uscc}").text
        labels |= set(re.findall(r'class="badge pub-(\w+)"', page))
    assert {"active", "repaired", "expired"} <= labels


def test_entity_errors_are_chinese_pages(office: tuple[TestClient, str]) -> None:
    browser, _ = office
    unknown = browser.get("/ui/entities/91110000600037341L")
    assert unknown.status_code == 404 and "<h1>未找到该企业</h1>" in unknown.text
    invalid = browser.get("/ui/entities/91110000600037341X")
    assert invalid.status_code == 422
    assert "<h1>统一社会信用代码无效</h1>" in invalid.text and "校验码不符" in invalid.text
    short = browser.get("/ui/entities/9111")
    assert short.status_code == 422 and "应为 18 位" in short.text
    for response in (unknown, invalid, short):
        assert response.headers["content-type"].startswith("text/html")


def test_the_search_box_goes_to_the_entity(
    office: tuple[TestClient, str], api_county: ApiCounty
) -> None:
    browser, _ = office
    response = browser.get("/ui/entities", params={"uscc": f" {api_county.warned_uscc.lower()} "})
    assert response.status_code == 303
    assert browser.get(response.headers["location"]).status_code == 200
    assert browser.get("/ui/entities", params={"uscc": ""}).headers["location"] == "/ui/warnings"


# --------------------------------------------------------------------------- models page


def test_the_models_page_shows_champions_and_runs(
    office: tuple[TestClient, str], api_county: ApiCounty
) -> None:
    tracking = pytest.importorskip("models.tracking")
    mlflow_session, tracking_uris = tracking.mlflow_session, tracking.tracking_uris

    browser, _ = office
    assert "尚无已注册模型" in browser.get("/ui/models").text
    uri, artifacts = tracking_uris(api_county.settings.work_dir)
    with mlflow_session(uri) as client:
        experiment = client.create_experiment("credlink-pd", artifact_location=artifacts)
        run = client.create_run(experiment)
        client.log_metric(run.info.run_id, "test_auc", 0.8123)
        client.log_metric(run.info.run_id, "test_ks", 0.4567)
        client.set_terminated(run.info.run_id)
        client.create_registered_model("credlink-pd")
        version = client.create_model_version(
            "credlink-pd", f"{artifacts}/model", run_id=run.info.run_id
        )
        client.set_registered_model_alias("credlink-pd", "champion", version.version)
    page = browser.get("/ui/models").text
    assert "尚无已注册模型" not in page
    assert 'data-model="credlink-pd" data-version="1"' in page
    assert "alias-champion" in page and run.info.run_id in page
    assert "0.8123" in page and "0.4567" in page


# --------------------------------------------------------------------------- units


def test_layout_is_deterministic_and_inside_the_picture(
    app: FastAPI, api_county: ApiCounty
) -> None:
    from serving import crud
    from serving.web import network as picture
    from serving.web.entity_pages import PAGE_AUDIENCE

    state = app.state.credlink
    served = state.scores.require()
    notable = served.config.grades.linked_risk_b
    network = crud.entity_network(
        state.scores, served, api_county.linked_uscc, 2, PAGE_AUDIENCE, max_nodes=300
    )
    first = picture.network_svg(network, linked_notable=notable)
    assert first == picture.network_svg(network, linked_notable=notable)
    positions = picture.network_layout(network)
    assert positions[network.center] == (picture.SVG_WIDTH / 2, picture.SVG_HEIGHT / 2)
    assert all(
        0 < x < picture.SVG_WIDTH and 0 < y < picture.SVG_HEIGHT for x, y in positions.values()
    )
    assert len(set(positions.values())) == len(positions)


def test_the_warnings_page_exports_the_regulator_s_notice(
    office: tuple[TestClient, str], api_county: ApiCounty
) -> None:
    """A 通报 export button once a regulator is chosen: the same CSV as the API's export."""
    browser, _ = office
    listed = browser.get("/ui/warnings")
    assert (
        "选择主管部门后可导出通报名单" in listed.text and "/ui/warnings/export?" not in listed.text
    )
    filtered = browser.get("/ui/warnings?regulator=市场监管局")
    assert filtered.status_code == 200
    link = re.search(r'href="(/ui/warnings/export\?[^"]+)"', filtered.text)
    assert link, filtered.text[:500]
    exported = browser.get(link.group(1).replace("&amp;", "&"))
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    api = browser.get(
        "/v1/warnings/export?regulator=市场监管局",
        headers=api_county.headers(KeyRole.credit_office),
    )
    assert api.status_code == 200 and exported.content == api.content
    without = browser.get("/ui/warnings/export")  # no regulator: back to the list, saying why
    assert without.status_code == 303 and without.headers["location"].startswith("/ui/warnings")
