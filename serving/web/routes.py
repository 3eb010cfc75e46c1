"""The credit office's web pages (信用办工作台), server-rendered, in Chinese, under ``/ui``.

=======  ===============================  ==================================================
method   path                             page
=======  ===============================  ==================================================
GET      /ui                              → /ui/warnings
GET      /ui/login, POST /ui/login        log in with an API key (credit_office or admin)
POST     /ui/logout                       log out
GET      /ui/warnings?level&rule&…        warnings with filters and status actions
GET      /ui/warnings/{id}                one warning: evidence, history, actions
POST     /ui/warnings/{id}/status         move a warning (form; → a message, then back)
GET      /ui/entities?uscc=…              → /ui/entities/{uscc} (the search box)
GET      /ui/entities/{uscc}              risk, grade, records, actual controller, network
GET      /ui/models                       registered models: champions, metrics, runs
GET      /ui/static/…                     the style sheet (mounted in :mod:`serving.app`)
=======  ===============================  ==================================================

Login, sessions, roles and CSRF are :mod:`serving.web.auth`'s: a locked-out client gets a 429
page with ``Retry-After``; other roles are refused with a Chinese message. What the pages show
comes from :mod:`serving.web.warning_pages`, :mod:`serving.web.entity_pages` and
:mod:`serving.web.model_pages` (no HTTP there); this module renders it. Errors are
Chinese HTML pages with the right status (401/403 login, 429 locked out, 404 unknown warning or
enterprise, 422 invalid identifier or parameter), never JSON and never a 500; the pages are
not part of the OpenAPI document.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from risk.exceptions import InvalidIdentifierError, RiskError
from serving import crud
from serving.deps import EngineDep, EnterpriseUscc, ServedDep, StateDep
from serving.errors import error_status, request_id_of
from serving.exceptions import ServingError
from serving.web import entity_pages, model_pages, warning_pages
from serving.web.auth import (
    COOKIE_PATH,
    CsrfRefused,
    FormUserDep,
    LoginRequired,
    Signers,
    SignersDep,
    UiUser,
    UiUserDep,
    log_in,
    set_cookie,
    signers_of,
    unix_now,
    utc_now,
)
from serving.web.network import network_svg
from serving.web.sessions import (
    FLASH_COOKIE,
    FLASH_MAX_AGE,
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    Flash,
    LoginPolicy,
    decode_flash,
    encode_flash,
    encode_session,
    end_session,
)
from serving.web.templating import templates

__all__ = ["PAGE_HEADERS", "HtmlErrorRoute", "router"]

logger = logging.getLogger("credlink.serving")

PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
"""Sent with every page: no framing (the buttons move warnings), no scripts from elsewhere
(the pages have none), nothing cached (they show records and warnings)."""
_HOME = "/ui/warnings"
_CSRF_REFUSED = "表单校验失败（缺少或不符的表单令牌），请刷新页面后重试。"
_USCC_CHECKS = {
    "length": "应为 18 位",
    "alphabet": "只能由数字和大写字母组成（不含 I、O、S、V、Z）",
    "region": "第 3–8 位应为行政区划代码",
    "check_character": "第 18 位校验码不符",
}


@cache
def _templates() -> Jinja2Templates:
    return templates()


# --------------------------------------------------------------------------- error pages


def _error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    return _templates().TemplateResponse(
        request,
        "error.html",
        {
            "user": None,
            "flash": None,
            "csrf_token": "",
            "title": title,
            "detail": detail,
            "status": status,
            "request_id": request_id_of(request.scope),
        },
        status_code=status,
    )


def _known_error_page(request: Request, exc: Exception) -> HTMLResponse:
    status, code = error_status(exc)
    if status >= 500:
        logger.error("page %s failed: %s", request.url.path, exc, exc_info=exc)
        if code == "unavailable":
            return _error_page(request, status, "服务暂不可用", "数据正在加载，请稍后刷新页面。")
        return _error_page(request, 500, "服务内部错误", "请稍后重试，并向管理员提供请求编号。")
    if isinstance(exc, InvalidIdentifierError):
        rule = _USCC_CHECKS.get(exc.check, "格式不符合 GB 32100-2015")
        return _error_page(request, status, "统一社会信用代码无效", f"统一社会信用代码{rule}。")
    titles = {
        "unknown_entity": ("未找到该企业", "库中没有这个统一社会信用代码的企业。"),
        "unknown_warning": ("未找到该预警", "没有这个编号的预警。"),
        "forbidden": ("无权访问", "当前登录的角色不能使用此页面。"),
        "unauthenticated": ("请先登录", "请使用信用办密钥登录。"),
    }
    title, detail = titles.get(code, ("请求无法处理", "请检查输入后重试。"))
    return _error_page(request, status, title, detail)


def _validation_page(request: Request, exc: RequestValidationError) -> HTMLResponse:
    names = sorted({str(e["loc"][-1]) for e in exc.errors() if e.get("loc")})
    where = f"（{', '.join(names)}）" if names else ""
    detail = f"请求中的参数不符合要求{where}，请检查后重试。"
    return _error_page(request, 422, "请求参数无效", detail)


def _login_redirect(request: Request, exc: LoginRequired) -> Response:
    target = request.url.path
    if request.method == "GET" and request.url.query:
        target += f"?{request.url.query}"
    if request.method != "GET":
        target = _HOME
    response = RedirectResponse(f"/ui/login?{urlencode({'next': target})}", status_code=303)
    if exc.message:
        signers = signers_of(request)
        if signers is not None:
            set_cookie(
                request,
                response,
                FLASH_COOKIE,
                encode_flash(signers.flash, Flash("error", exc.message), unix_now()),
                FLASH_MAX_AGE,
            )
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


class HtmlErrorRoute(APIRoute):
    """A route whose failures are Chinese HTML pages instead of the API's JSON errors."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except LoginRequired as exc:
                response = _login_redirect(request, exc)
            except CsrfRefused:
                response = _error_page(request, 403, "表单已失效", _CSRF_REFUSED)
            except RequestValidationError as exc:
                response = _validation_page(request, exc)
            except (RiskError, ServingError) as exc:
                response = _known_error_page(request, exc)
            except StarletteHTTPException as exc:
                detail = str(exc.detail)
                response = _error_page(request, exc.status_code, "请求无法处理", detail)
            response.headers.update(PAGE_HEADERS)
            return response

        return route


router = APIRouter(prefix="/ui", include_in_schema=False, route_class=HtmlErrorRoute)


def _safe_next(value: str | None) -> str:
    """Where to go after a form: a path under /ui only (no open redirect)."""
    if (
        value
        and value.startswith("/ui")
        and not value.startswith(("//", "/\\"))
        and all(c.isprintable() and c not in "\\\r\n" for c in value)
    ):
        return value
    return _HOME


@dataclass(frozen=True)
class Page:
    """Render a page or redirect, with the user, the CSRF token and the pending message."""

    request: Request
    user: UiUser | None
    signers: Signers

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        """The template with the common context; consumes the flash message."""
        flash = decode_flash(self.signers.flash, self.request.cookies.get(FLASH_COOKIE), unix_now())
        response = _templates().TemplateResponse(
            self.request,
            template,
            {
                "user": self.user,
                "csrf_token": self.user.session.csrf_token if self.user else "",
                "flash": flash,
                "path": self.request.url.path,
                **context,
            },
            status_code=status,
        )
        if FLASH_COOKIE in self.request.cookies:
            response.delete_cookie(FLASH_COOKIE, path=COOKIE_PATH)
        return response

    def redirect(self, target: str, flash: Flash | None = None) -> RedirectResponse:
        """303 to ``target`` (a /ui path), carrying ``flash`` to the next page."""
        response = RedirectResponse(_safe_next(target), status_code=303)
        if flash is not None:
            value = encode_flash(self.signers.flash, flash, unix_now())
            set_cookie(self.request, response, FLASH_COOKIE, value, FLASH_MAX_AGE)
        return response


def user_page(request: Request, user: UiUserDep, signers: SignersDep) -> Page:
    """A page for the logged-in user."""
    return Page(request, user, signers)


def form_page(request: Request, user: FormUserDep, signers: SignersDep) -> Page:
    """A form post of the logged-in user (CSRF checked)."""
    return Page(request, user, signers)


def anonymous_page(request: Request, signers: SignersDep) -> Page:
    """A page without login (the login form)."""
    return Page(request, None, signers)


PageDep = Annotated[Page, Depends(user_page)]
FormPageDep = Annotated[Page, Depends(form_page)]
AnonymousPageDep = Annotated[Page, Depends(anonymous_page)]

WarningId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
NextField = Annotated[str, Form(alias="next")]


# --------------------------------------------------------------------------- login


@router.get("", response_class=HTMLResponse)
def home() -> RedirectResponse:
    """The warnings list is the home page."""
    return RedirectResponse(_HOME, status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(
    page: AnonymousPageDep, next_url: Annotated[str, Query(alias="next")] = ""
) -> Response:
    """The login form."""
    return page.render("login.html", next_url=_safe_next(next_url), error=None)


def _client_of(request: Request) -> str:
    """The peer's address (a reverse proxy's, behind one: uvicorn runs without proxy headers)."""
    return request.client.host if request.client else "unknown"


@router.post("/login", response_class=HTMLResponse)
def login(
    page: AnonymousPageDep,
    state: StateDep,
    api_key: Annotated[str, Form()] = "",
    next_url: NextField = "",
) -> Response:
    """Check the key: a credit_office or admin key gets a session; anything else is refused.

    Locked out (:mod:`serving.web.auth`) → 429 without checking the key.
    """
    target = _safe_next(next_url)
    settings = state.settings
    policy = LoginPolicy(settings.login_max_failures, settings.login_window_seconds)
    result = log_in(state.engine, _client_of(page.request), api_key, policy)
    if result.session is None or result.key is None:
        refused = page.render(
            "login.html", status=result.status, next_url=target, error=result.error
        )
        if result.retry_after:
            refused.headers["Retry-After"] = str(result.retry_after)
        return refused
    response = page.redirect(target, Flash("ok", f"欢迎，{result.key.actor}。"))
    value = encode_session(page.signers.session, result.session)
    set_cookie(page.request, response, SESSION_COOKIE, value, SESSION_MAX_AGE)
    return response


@router.post("/logout", response_class=HTMLResponse)
def logout(page: FormPageDep, state: StateDep) -> Response:
    """End the session: recorded as ended in the store (its cookie is refused from now on,
    wherever it was copied) and cleared from the browser."""
    assert page.user is not None
    end_session(state.engine, page.user.session, utc_now())
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


# --------------------------------------------------------------------------- warnings


@router.get("/warnings", response_class=HTMLResponse)
def warnings_list(
    page: PageDep,
    engine: EngineDep,
    state: StateDep,
    filters: Annotated[warning_pages.WarningFilters, Query()],
) -> Response:
    """Warnings with filters (level, rule, regulator, status), red first (or by 再犯概率),
    with actions."""
    return page.render(
        "warnings.html",
        view=warning_pages.warning_list(engine, filters, state.scores.served()),
        filters=filters,
        options=warning_pages.filter_options(),
    )


@router.get("/warnings/export", response_class=Response)
def export_notice(
    page: PageDep, engine: EngineDep, filters: Annotated[warning_pages.WarningFilters, Query()]
) -> Response:
    """The 通报 list of the regulator the list is filtered by, as ``GET /v1/warnings/export``
    gives it (CSV, Chinese headers, spreadsheet-safe); without a regulator, back to the list."""
    if filters.regulator is None:
        return page.redirect(
            "/ui/warnings?" + urlencode(filters.query()),
            Flash("error", "请先选择主管部门，再导出通报名单"),
        )
    statuses = None if filters.status is None else [filters.status]
    body = crud.notice_csv(engine, filters.regulator, statuses)
    filename = quote(f"通报-{filters.regulator}.csv")
    disposition = f"attachment; filename=\"notice.csv\"; filename*=UTF-8''{filename}"
    return Response(
        body, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition}
    )


@router.get("/warnings/{warning_id}", response_class=HTMLResponse)
def warning_detail(page: PageDep, engine: EngineDep, warning_id: WarningId) -> Response:
    """One warning: evidence (records, paths), event history, actions."""
    return page.render("warning.html", view=warning_pages.warning_view(engine, warning_id))


@router.post("/warnings/{warning_id}/status", response_class=HTMLResponse)
def move_warning(
    page: FormPageDep,
    engine: EngineDep,
    warning_id: WarningId,
    to_status: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    next_url: NextField = "",
) -> Response:
    """Move a warning along its lifecycle; back to the page it came from, with a message."""
    assert page.user is not None
    flash = warning_pages.move_warning(
        engine, warning_id, to_status, note or None, page.user.key.actor
    )
    return page.redirect(next_url or f"/ui/warnings/{warning_id}", flash)


# --------------------------------------------------------------------------- entities, models


@router.get("/entities", response_class=HTMLResponse)
def find_entity(page: PageDep, uscc: Annotated[str, Query(max_length=64)] = "") -> Response:
    """The search box: go to the enterprise's page."""
    code = uscc.strip()
    if not code:
        return page.redirect(_HOME, Flash("error", "请输入统一社会信用代码。"))
    return RedirectResponse(f"/ui/entities/{quote(code, safe='')}", status_code=303)


@router.get("/entities/{uscc}", response_class=HTMLResponse)
def entity(
    page: PageDep,
    uscc: EnterpriseUscc,
    served: ServedDep,
    engine: EngineDep,
    state: StateDep,
) -> Response:
    """Own and linked risk, grade, records with publicity status, controller, network (from
    the current score set)."""
    view = entity_pages.entity_page(
        state.scores, served, engine, uscc, max_nodes=state.settings.network_max_nodes
    )
    svg = network_svg(
        view.network, linked_notable=view.linked_notable, highlight=view.controller.path_ids
    )
    return page.render("entity.html", view=view, svg=svg, linked_notable=view.linked_notable)


@router.get("/models", response_class=HTMLResponse)
def models(page: PageDep, state: StateDep) -> Response:
    """Registered models: champion versions, metrics and MLflow run ids."""
    served = state.scores.served()
    return page.render(
        "models.html",
        view=model_pages.registered_models(state.settings),
        drift=model_pages.drift_views(served),
        served=served,
    )


@router.get("/{unknown:path}", response_class=HTMLResponse)
def unknown_page(request: Request, unknown: str) -> Response:
    """Any other address under /ui: a Chinese 404 page (registered last)."""
    return _error_page(request, 404, "页面不存在", f"没有这个页面：/ui/{unknown}")
