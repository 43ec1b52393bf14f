"""/_s3d/console/: sign-in and sign-out, the shell page, its assets, and the signing endpoint.

Every state-changing request here needs the same-origin check (an Origin header, when sent, names this host) and a
CSRF token: the sign-in form's is a double-submit cookie, a session's is stored with the session. The session cookie
is HttpOnly, SameSite=Strict, scoped to the console's path, Secure under TLS, and expires with the session.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from importlib import resources
from urllib.parse import parse_qs, urlsplit

from s3d.config import Settings, User
from s3d.console import pages, presign
from s3d.console.lag import LagRing
from s3d.console.limiter import SignInLimiter
from s3d.console.sessions import SESSION_SECONDS, Session, SessionStore, signed_in_with
from s3d.s3.context import Ctx
from s3d.server.http import BodyError, Response

Handler = Callable[[Ctx], Awaitable[Response]]
log = logging.getLogger("s3d")

PREFIX = pages.PREFIX
SESSION_COOKIE = "s3d_console"
SIGN_IN_COOKIE = "s3d_console_signin"  # the sign-in form's double-submit CSRF token
SIGN_IN_SECONDS = 3600
CSRF_HEADER = "x-csrf-token"
FORM_LIMIT = 16 * 1024
SIGN_LIMIT = 1 << 20
MAX_SIGNED = 1000  # URLs one signing request may ask for
ASSETS = {"console.js": "text/javascript; charset=utf-8", "console.css": "text/css; charset=utf-8"}
HTML = "text/html; charset=utf-8"
JSON = "application/json"
SECURITY_HEADERS = [
    (
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    # a presigned URL in a Referer would hand it to another site; "no-referrer" would also make Origin "null"
    ("Referrer-Policy", "same-origin"),
]
NO_STORE = ("Cache-Control", "no-store")


def _response(status: int, content_type: str, body: bytes, extra: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, [("Content-Type", content_type), NO_STORE, *SECURITY_HEADERS, *(extra or [])], body)


def _json(data: object, status: int = 200) -> Response:
    return _response(status, JSON, json.dumps(data).encode())


def _redirect(to: str, extra: list[tuple[str, str]] | None = None) -> Response:
    return Response(303, [("Location", to), NO_STORE, *SECURITY_HEADERS, *(extra or [])], b"")


def _cookies(ctx: Ctx) -> dict[str, str]:
    out: dict[str, str] = {}
    for piece in ctx.req.headers.get("cookie", "").split(";"):
        name, eq, value = piece.strip().partition("=")
        if eq and name not in out:
            out[name] = value
    return out


def _cookie(ctx: Ctx, name: str, value: str, max_age: int) -> tuple[str, str]:
    secure = "; Secure" if ctx.req.secure else ""
    return ("Set-Cookie", f"{name}={value}; Path={PREFIX}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")


def _same_origin(ctx: Ctx) -> bool:
    """A browser names the page a request came from in Origin; a request from another site is refused."""
    origin = ctx.req.headers.get("origin")
    if origin is None:
        return True  # not sent by browsers on same-origin GETs; POSTs still need their CSRF token
    try:
        netloc = urlsplit(origin).netloc
    except ValueError:  # "http://[": not an origin a browser sends
        return False
    return origin != "null" and netloc == ctx.req.headers.get("host", "")


class Console:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sessions = SessionStore(settings.data)
        self.limiter = SignInLimiter(settings.data)
        self.lag = LagRing()
        self.users = {u.access_key: u for u in settings.users}

    async def __call__(self, ctx: Ctx) -> Response:
        path, method = ctx.req.path, ctx.req.method
        if path == PREFIX.rstrip("/"):
            return _redirect(PREFIX)
        sub = path[len(PREFIX) :]
        try:
            if sub.startswith("assets/") and method in ("GET", "HEAD"):
                return self.asset(sub[len("assets/") :])
            if sub == "signin":
                if method == "POST":
                    return await self.sign_in(ctx)
                if method in ("GET", "HEAD"):
                    return self.sign_in_page(ctx)
            elif method == "POST" and not _same_origin(ctx):
                return _response(403, HTML, pages.message("Refused", "A request from another site was refused."))
            found = self.session(ctx)
            if sub == "signout" and method == "POST":
                return await self.sign_out(ctx, found)
            if found is None:
                if sub == "" and method in ("GET", "HEAD"):
                    return _redirect(PREFIX + "signin")
                return _json({"error": "SignInRequired"}, 401)
            session, user = found
            if sub == "" and method in ("GET", "HEAD"):
                mode = "gateway" if ctx.gateway is not None else "local"
                return _response(200, HTML, pages.shell(user.name, user.admin, session.csrf, mode))
            if sub == "api/sign" and method == "POST":
                return await self.sign(ctx, session, user)
            if sub == "api/lag" and method == "GET":
                return self.lag_series(ctx, user)
        except BodyError:
            return _response(400, HTML, pages.message("Bad request", "The request body was cut short or too large."))
        return _response(404, HTML, pages.message("Not found", "The console has no such page."))

    def asset(self, name: str) -> Response:
        content_type = ASSETS.get(name)
        if content_type is None:
            return _response(404, HTML, pages.message("Not found", "No such file."))
        body = resources.files("s3d.console").joinpath("assets", name).read_bytes()
        return Response(200, [("Content-Type", content_type), ("Cache-Control", "no-cache"), *SECURITY_HEADERS], body)

    def session(self, ctx: Ctx) -> tuple[Session, User] | None:
        token = _cookies(ctx).get(SESSION_COOKIE, "")
        s = self.sessions.get(token)
        if s is None:
            return None
        user = self.users.get(s.access_key)
        if user is None or not signed_in_with(token, s, user.secret_key):
            return None  # a user removed from the configuration, or whose secret key changed, is signed out
        return s, user

    def sign_in_page(self, ctx: Ctx, message: str | None = None, status: int = 200) -> Response:
        csrf = secrets.token_urlsafe(24)
        cookie = _cookie(ctx, SIGN_IN_COOKIE, csrf, SIGN_IN_SECONDS)
        return _response(status, HTML, pages.sign_in(csrf, message), [cookie])

    async def sign_in(self, ctx: Ctx) -> Response:
        form = parse_qs((await ctx.req.body.read_all(FORM_LIMIT)).decode("utf-8", "replace"))
        given = form.get("csrf", [""])[0]
        expected = _cookies(ctx).get(SIGN_IN_COOKIE, "")
        if not _same_origin(ctx) or not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            return self.sign_in_page(ctx, "The sign-in form expired or came from another site; try again.", 403)
        client = ctx.req.client
        wait = self.limiter.wait_seconds(client)
        if wait > 0:
            log.warning("console sign-in refused for %s: too many failed attempts", client)
            resp = self.sign_in_page(ctx, f"Too many failed sign-ins; try again in {int(wait) + 1} s.", 429)
            resp.headers.append(("Retry-After", str(int(wait) + 1)))
            return resp
        access_key, secret_key = form.get("access_key", [""])[0].strip(), form.get("secret_key", [""])[0]
        user = self.users.get(access_key)
        if user is None or not hmac.compare_digest(user.secret_key.encode(), secret_key.encode()):
            self.limiter.failed(client, access_key)
            log.warning("console sign-in failed for access key %r from %s", access_key[:64], client)
            return self.sign_in_page(ctx, "The access key or secret key is wrong.", 401)
        self.limiter.succeeded(client, user.access_key)
        token, _ = self.sessions.create(user.access_key, user.secret_key)
        log.info("console sign-in: user %s from %s", user.name, client)
        return _redirect(
            PREFIX, [_cookie(ctx, SESSION_COOKIE, token, SESSION_SECONDS), _cookie(ctx, SIGN_IN_COOKIE, "", 0)]
        )

    async def sign_out(self, ctx: Ctx, found: tuple[Session, User] | None) -> Response:
        if found is not None:  # without a session there is nothing to end: the form is not read
            form = parse_qs((await ctx.req.body.read_all(FORM_LIMIT)).decode("utf-8", "replace"))
            if not hmac.compare_digest(form.get("csrf", [""])[0].encode(), found[0].csrf.encode()):
                return _response(403, HTML, pages.message("Refused", "The sign-out form carried no valid token."))
            self.sessions.drop(_cookies(ctx).get(SESSION_COOKIE, ""))
        return _redirect(PREFIX + "signin", [_cookie(ctx, SESSION_COOKIE, "", 0)])

    async def sign(self, ctx: Ctx, session: Session, user: User) -> Response:
        """{"requests": [...]} -> {"urls": [...]}: presigned with the user's keys, for this host."""
        token = ctx.req.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(token.encode(), session.csrf.encode()):
            return _json({"error": "InvalidCsrfToken"}, 403)
        try:
            raw = json.loads(await ctx.req.body.read_all(SIGN_LIMIT))
            wanted = raw.get("requests") if isinstance(raw, dict) else None
            if not isinstance(wanted, list) or not 0 < len(wanted) <= MAX_SIGNED:
                raise presign.SignError(f"requests must be a list of 1 to {MAX_SIGNED} requests")
            parsed = [presign.parse(w) for w in wanted]
            host = presign.check_host(ctx.req.headers.get("host", ""))
        except (ValueError, UnicodeDecodeError, RecursionError) as e:  # SignError and JSON errors alike
            return _json({"error": "InvalidRequest", "message": str(e)}, 400)
        region = self.settings.region
        urls = [presign.presign(w, host, user.access_key, user.secret_key, region) for w in parsed]
        return _json({"urls": urls})

    def lag_series(self, ctx: Ctx, user: User) -> Response:
        """The last hour of the whole queue's lag; for admins (others see their own buckets' live figures)."""
        if ctx.gateway is None or not user.admin:
            return _json({"samples": [], "available": False})
        self.lag.start(lambda: ctx.store.reader)
        return _json({"samples": self.lag.series(), "available": True})


def mounted(settings: Settings, admin: Handler) -> Handler:
    """The admin handler with the console in front of it, at PREFIX."""
    console = Console(settings)

    async def handle(ctx: Ctx) -> Response:
        if ctx.req.path.startswith(PREFIX) or ctx.req.path == PREFIX.rstrip("/"):
            return await console(ctx)
        return await admin(ctx)

    return handle
