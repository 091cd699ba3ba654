"""The FastAPI application: the service object behind the routes, size limits, auth, and errors as one-line
JSON (never a stack trace)."""

from __future__ import annotations

import difflib
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vrag.errors import ConfigError, LLMError, MediaError, ModelUnavailableError, StoreError, VragError
from vrag.serve._config import ServeConfig, llm_from_config
from vrag.serve._jobs import Jobs
from vrag.serve._media import Keyframes, Links, Roots

if TYPE_CHECKING:
    from vrag.index import VideoIndex
    from vrag.search import SearchOptions

log = logging.getLogger(__name__)
T = TypeVar("T")

__all__ = ["Service", "authorised", "create_app", "service", "status_of"]


@dataclass
class Service:
    """What the routes share: the index, the settings, and the parts that read files and run jobs."""

    index: VideoIndex
    config: ServeConfig
    options: SearchOptions
    llm: Callable[[str], str] | None
    roots: Roots
    links: Links
    keyframes: Keyframes
    jobs: Jobs

    async def run(self, fn: Callable[..., T], *args: Any, timeout: float | None = None, **kwargs: Any) -> T:
        """Run blocking work in a thread; past ``timeout`` the request fails with 504 (the work is left to
        finish in its thread)."""
        limit = self.config.timeout if timeout is None else timeout
        try:
            with anyio.fail_after(limit):
                return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs), abandon_on_cancel=True)
        except TimeoutError as err:
            raise HTTPException(
                504, f"took longer than {limit:g} s; ask for fewer hits or narrow it"
            ) from err


def create_app(index: VideoIndex, config: ServeConfig | None = None) -> FastAPI:
    """The service for an open index (``vrag serve`` runs it with uvicorn).

    Example:
        >>> from vrag import VideoIndex
        >>> from vrag.serve import ServeConfig, create_app
        >>> app = create_app(VideoIndex.open(".vrag"), ServeConfig(roots=["videos"]))  # doctest: +SKIP
    """
    from vrag.search import SearchOptions
    from vrag.serve._routes import api, page

    config = config or ServeConfig()
    options = SearchOptions.from_mapping(config.search, owner="[search] in vrag.toml")
    service = Service(
        index, config, options, llm_from_config(config.llm), Roots(config.roots),
        Links(config.api_key, config.link_ttl), Keyframes(), Jobs(index),
    )  # fmt: skip

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(_warm_up, index)
        yield
        await anyio.to_thread.run_sync(service.jobs.close)

    app = FastAPI(
        title="vrag", summary="Search, watch and ask indexed videos.", lifespan=lifespan,
        description="Every `/api` route but `/api/health` needs `Authorization: Bearer <key>` when the "
        'server has an API key. Errors are JSON: `{"error": type, "detail": one line}`.',
    )  # fmt: skip
    app.state.service = service
    app.include_router(api)
    app.include_router(page)
    _errors(app)
    if config.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware, allow_origins=list(config.cors_origins), allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )  # fmt: skip
    app.add_middleware(_BodyLimit, upload=config.max_upload_bytes, default=config.max_body_bytes)
    app.add_middleware(_SafeHeaders)
    return app


def service(request: Request) -> Service:
    """The service of the app handling ``request``."""
    svc: Service = request.app.state.service
    return svc


def authorised(request: Request) -> None:
    """A dependency: with an API key, the request carries it as a bearer token (or, for media and keyframes,
    a valid signed link)."""
    svc = service(request)
    key = svc.config.api_key
    if key is None:
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and secrets.compare_digest(token.strip().encode(), key.encode()):
        return
    if svc.links.valid(request.url.path, request.query_params):
        return
    raise HTTPException(
        401, "send the API key as `Authorization: Bearer <key>`", {"WWW-Authenticate": "Bearer"}
    )


def _warm_up(index: VideoIndex) -> None:
    """Load the text query encoders before the first request (concurrent first searches would wait)."""
    try:
        index.retriever.channels.text_queries("warm up", None)
    except VragError as err:
        log.warning("text search is unavailable: %s", err)


# ------------------------------------------------------------------------------------------- errors


def _body(kind: str, detail: str) -> dict[str, str]:
    line = " ".join(detail.split())
    return {"error": kind, "detail": line if len(line) <= 600 else line[:597] + "..."}


def status_of(err: VragError) -> int:
    if isinstance(err, ConfigError):
        return 400
    if isinstance(err, MediaError):
        return 422
    if isinstance(err, LLMError):
        return 502
    if isinstance(err, ModelUnavailableError | StoreError):
        return 503
    return 400


_NAMES = {
    400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
    409: "Busy", 413: "TooLarge", 415: "Unsupported", 416: "RangeNotSatisfiable", 504: "Timeout",
}  # fmt: skip


def _errors(app: FastAPI) -> None:
    @app.exception_handler(VragError)
    async def vrag_error(request: Request, err: VragError) -> JSONResponse:
        return JSONResponse(_body(type(err).__name__, str(err)), status_code=status_of(err))

    @app.exception_handler(StarletteHTTPException)  # FastAPI's own, and the router's 404 / 405
    async def http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        kind = getattr(err, "kind", None) or _NAMES.get(err.status_code, "HTTPError")
        return JSONResponse(_body(kind, str(err.detail)), status_code=err.status_code, headers=err.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        return JSONResponse(_body("InvalidRequest", _first_problem(err.errors())), status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, err: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return JSONResponse(_body("InternalError", "the server failed; see its log"), status_code=500)


_KNOWN = {
    "llm": "the answering model is set by the server's [llm] configuration, not per request",
}


def _first_problem(errors: Any) -> str:
    """The first validation problem in one line, with close names for an unknown parameter."""
    first = next(iter(errors))
    where = [str(p) for p in first.get("loc", ()) if p not in ("query", "body")]
    name = where[-1] if where else ""
    if first.get("type") == "extra_forbidden":
        if name in _KNOWN:
            return f"{name}: {_KNOWN[name]}"
        close = difflib.get_close_matches(name, _param_names(first), n=1)
        return f"unknown parameter {name!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
    got = first.get("input")
    shown = f" (got {got!r})" if isinstance(got, str | int | float) and first.get("type") != "missing" else ""
    return f"{'.'.join(where) or 'request'}: {first.get('msg', 'invalid')}{shown}"


def _param_names(problem: Any) -> list[str]:
    from vrag.serve._routes import AskRequest, SearchParams

    fields = SearchParams.model_fields if problem.get("loc", ("",))[0] == "query" else AskRequest.model_fields
    return list(fields)


# ------------------------------------------------------------------------------------------- middleware


class _TooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit / 1024 / 1024:.3g} MB")


class _BodyLimit:
    """Refuses bodies over the limit (uploads to ``POST /api/search`` get the upload limit): by their
    Content-Length at once, else while they stream in."""

    def __init__(self, app: ASGIApp, *, upload: int, default: int) -> None:
        self.app, self.upload, self.default = app, upload, default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        uploading = scope["method"] == "POST" and scope["path"] == "/api/search"
        limit = self.upload if uploading else self.default
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            err = _TooLarge(limit)
            await JSONResponse(_body("TooLarge", err.detail), status_code=413)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _TooLarge(limit)
            return message

        await self.app(scope, counted, send)


class _SafeHeaders:
    """``nosniff`` and no framing on every response; the page also gets a strict content security policy."""

    CSP = (
        "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; "
        "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        page = scope["path"] == "/" or scope["path"].startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                            (b"referrer-policy", b"no-referrer")]  # fmt: skip
                if page:
                    headers.append((b"content-security-policy", self.CSP.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
