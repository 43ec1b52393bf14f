"""The console's sessions over plain HTTP: cookie attributes (Secure under TLS), CSRF tokens, sign-out for every
worker, refused and malformed signing requests (never a 500), rate-limited sign-in, and the setting that turns the
console off."""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest

from s3d.console.limiter import MAX_FAILURES
from s3d.console.sessions import MAX_SESSIONS_PER_USER, SessionStore
from tests.conftest import client_for
from tests.console.conftest import ALICE, BOB, start_console_daemon, users_toml
from tests.support.server import S3dProcess, free_port

CONSOLE = "/_s3d/console/"
TRIES = 6  # sign-outs and signing requests are sent this often, so both workers answer some
FORM_BYTES = 4096  # a sign-out form's announced body, never sent


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def cookies(self) -> list[str]:
        return self.headers.get_all("Set-Cookie") or []


@dataclass
class Browserless:
    """Just enough of a browser: a cookie jar over one host, requests sent as a same-origin page would."""

    port: int
    tls: bool = False
    jar: dict[str, str] = field(default_factory=dict)

    def send(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Answer:
        if self.tls:
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                "127.0.0.1", self.port, context=ssl._create_unverified_context(), timeout=20
            )
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        h = dict(headers or {})
        if self.jar:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        answer = Answer(r.status, r.headers, r.read())
        conn.close()
        for c in answer.cookies():
            name, _, rest = c.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in c:
                self.jar.pop(name, None)
            else:
                self.jar[name] = value
        return answer

    def form(self, path: str, fields: dict[str, str], origin: str | None = None) -> Answer:
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        if origin is not None:
            h["Origin"] = origin
        return self.send("POST", path, urlencode(fields).encode(), h)

    def sign_in(self, access_key: str, secret_key: str) -> Answer:
        page = self.send("GET", CONSOLE + "signin")
        token = re.search(rb'name="csrf" value="([^"]+)"', page.body)
        assert token is not None
        return self.form(
            CONSOLE + "signin", {"access_key": access_key, "secret_key": secret_key, "csrf": token[1].decode()}
        )

    def csrf(self) -> str:
        shell = self.send("GET", CONSOLE)
        assert shell.status == 200, shell.status
        m = re.search(rb'name="s3d-csrf" content="([^"]+)"', shell.body)
        assert m is not None
        return m[1].decode()

    def sign(self, body: object, csrf: str | None) -> Answer:
        h = {"Content-Type": "application/json"}
        if csrf is not None:
            h["X-CSRF-Token"] = csrf
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.send("POST", CONSOLE + "api/sign", raw, h)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[S3dProcess, int]]:
    """Two workers, a plain listener and an HTTPS one (self-signed)."""
    tls_port = free_port()
    root = tmp_path_factory.mktemp("console-sessions")
    proc = start_console_daemon(root, "--listen-tls", f"127.0.0.1:{tls_port}", "--tls-self-signed")
    yield proc, tls_port
    proc.stop()


def test_session_cookie_is_httponly_samesite_strict_with_an_expiry(daemon: tuple[S3dProcess, int]) -> None:
    b = Browserless(daemon[0].port)
    r = b.sign_in(ALICE[0], ALICE[1])
    assert r.status == 303 and r.headers["Location"] == CONSOLE
    session = next(c for c in r.cookies() if c.startswith("s3d_console="))
    attrs = [a.strip() for a in session.split(";")[1:]]
    assert attrs == [f"Path={CONSOLE}", "Max-Age=28800", "HttpOnly", "SameSite=Strict"]  # no Secure over HTTP


def test_session_cookie_is_secure_under_tls(daemon: tuple[S3dProcess, int]) -> None:
    b = Browserless(daemon[1], tls=True)
    r = b.sign_in(ALICE[0], ALICE[1])
    assert r.status == 303
    session = next(c for c in r.cookies() if c.startswith("s3d_console="))
    assert session.endswith("; HttpOnly; SameSite=Strict; Secure")


def test_sign_in_needs_the_form_token_and_a_same_origin(daemon: tuple[S3dProcess, int]) -> None:
    b = Browserless(daemon[0].port)
    fields = {"access_key": ALICE[0], "secret_key": ALICE[1], "csrf": "made-up"}
    assert b.form(CONSOLE + "signin", fields).status == 403  # no sign-in page was ever loaded
    page = b.send("GET", CONSOLE + "signin")
    token = re.search(rb'name="csrf" value="([^"]+)"', page.body)
    assert token is not None
    fields["csrf"] = token[1].decode()
    assert b.form(CONSOLE + "signin", fields, origin="http://evil.test").status == 403
    assert "s3d_console" not in b.jar


def test_signing_needs_the_session_csrf_token(daemon: tuple[S3dProcess, int]) -> None:
    b = Browserless(daemon[0].port)
    b.sign_in(ALICE[0], ALICE[1])
    one = {"requests": [{"method": "GET"}]}
    assert b.sign(one, None).status == 403
    assert b.sign(one, "wrong").status == 403
    r = b.sign(one, b.csrf())
    assert r.status == 200
    (url,) = json.loads(r.body)["urls"]
    assert url.startswith("/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ALICEACCESSKEY%2F")


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        [],
        {"requests": []},
        {"requests": "GET"},
        {"requests": [{"method": "PATCH"}]},
        {"requests": [{"method": "GET", "admin": "/etc/passwd"}]},
        {"requests": [{"method": "GET", "admin": "/_s3d/status?x=1"}]},
        {"requests": [{"method": "GET", "key": "k"}]},
        {"requests": [{"method": "GET", "bucket": 5}]},
        {"requests": [{"method": "GET", "bucket": "b", "query": {"a": 1}}]},
        {"requests": [{"method": "GET", "bucket": "b", "headers": ["x"]}]},
        {"requests": [{"method": "GET", "bucket": "b", "expires": 604801}]},
        {"requests": [{"method": "GET", "bucket": "b", "expires": True}]},
        {"requests": [{"method": "GET"}] * 1001},
        {"requests": [{"method": ["GET"]}]},
        {"requests": [{"method": "GET", "bucket": "b", "query": {"a": "\ud800"}}]},
        {"requests": [{"method": "GET", "bucket": "b", "query": {"X-Amz-Signature": "x"}}]},
        {"requests": [{"method": "GET", "bucket": "b", "headers": {"x-a": "\ud800"}}]},
        {"requests": [{"method": "GET", "bucket": "b", "headers": {"x-a": "\u4e2d"}}]},
        {"requests": [{"method": "GET", "bucket": "b", "headers": {"x-a": "a\r\nb: c"}}]},
        {"requests": [{"method": "GET", "bucket": "b", "headers": {"x a": "v"}}]},
        {"requests": [{"method": "GET", "bucket": "b", "headers": {"Host": "elsewhere.test"}}]},
        {"requests": [{"method": "GET", "admin": "/_s3d/\ud800"}]},
        {"requests": [{"method": "GET", "admin": "/_s3d/status#x"}]},
        {"requests": [{"method": "GET", "bucket": "b", "key": ".."}]},
    ],
)
def test_malformed_signing_requests_are_400(daemon: tuple[S3dProcess, int], body: object) -> None:
    b = Browserless(daemon[0].port)
    b.sign_in(ALICE[0], ALICE[1])
    r = b.sign(body, b.csrf())
    assert r.status == 400, r.body
    assert json.loads(r.body)["error"] == "InvalidRequest"


@pytest.mark.parametrize("host", ["", "[", "[::1", "127.0.0.1:99999999", "evil.test/path?"])
def test_a_signing_request_with_a_malformed_host_is_400(daemon: tuple[S3dProcess, int], host: str) -> None:
    b = Browserless(daemon[0].port)
    b.sign_in(ALICE[0], ALICE[1])
    r = b.send(
        "POST",
        CONSOLE + "api/sign",
        json.dumps({"requests": [{"method": "GET"}]}).encode(),
        {"Content-Type": "application/json", "X-CSRF-Token": b.csrf(), "Host": host},
    )
    assert r.status == 400, r.body
    assert json.loads(r.body)["error"] == "InvalidRequest"


@pytest.mark.parametrize("origin", ["http://[", "http://[::1", "http://127.0.0.1:99999999"])
def test_a_malformed_origin_is_refused_before_anything_else(daemon: tuple[S3dProcess, int], origin: str) -> None:
    r = Browserless(daemon[0].port).send("POST", CONSOLE + "api/sign", b"{}", {"Origin": origin})
    assert r.status == 403, r.body


def test_sign_out_without_a_session_reads_no_body(daemon: tuple[S3dProcess, int]) -> None:
    """An anonymous POST is answered from its headers: no 100 Continue invites the body it announces."""
    with socket.create_connection(("127.0.0.1", daemon[0].port), timeout=10) as s:
        s.sendall(
            f"POST {CONSOLE}signout HTTP/1.1\r\nHost: 127.0.0.1:{daemon[0].port}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {FORM_BYTES}\r\n"
            "Expect: 100-continue\r\n\r\n".encode()
        )
        status_line = s.recv(64).split(b"\r\n", 1)[0]
    assert status_line == b"HTTP/1.1 303 See Other"


def test_sign_out_ends_the_session_for_every_worker(daemon: tuple[S3dProcess, int]) -> None:
    b = Browserless(daemon[0].port)
    b.sign_in(ALICE[0], ALICE[1])
    csrf = b.csrf()
    stolen = dict(b.jar)
    assert b.form(CONSOLE + "signout", {"csrf": "wrong"}).status == 403
    assert b.sign({"requests": [{"method": "GET"}]}, csrf).status == 200
    r = b.form(CONSOLE + "signout", {"csrf": csrf})
    assert r.status == 303 and r.headers["Location"] == CONSOLE + "signin"
    replay = Browserless(daemon[0].port, jar=stolen)
    for _ in range(TRIES):
        assert replay.sign({"requests": [{"method": "GET"}]}, csrf).status == 401
        assert replay.send("GET", CONSOLE).status == 303


def test_a_new_secret_key_ends_the_sessions_made_with_the_old_one(tmp_path: Path) -> None:
    """Rotating a leaked secret must also end what was signed in with it (the sessions outlive a restart)."""
    proc = start_console_daemon(tmp_path, workers=1)
    b = Browserless(proc.port)
    try:
        assert b.sign_in(ALICE[0], ALICE[1]).status == 303
    finally:
        proc.stop()
    (tmp_path / "s3d.toml").write_text(users_toml((ALICE[0], "alice-rotated-secret-0123456789", ALICE[2]), BOB))
    proc = S3dProcess(tmp_path / "data", args=["--config", str(tmp_path / "s3d.toml")]).start()
    try:
        b.port = proc.port
        assert b.send("GET", CONSOLE).status == 303  # to the sign-in page
        assert b.sign({"requests": [{"method": "GET"}]}, "any").status == 401
    finally:
        proc.stop()


def test_an_expired_session_is_gone(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    token, s = store.create("AK", "secret", now=1000.0)
    assert store.get(token, now=1001.0) == s
    assert store.get(token, now=s.expires) is None
    assert store.get(token, now=1001.0) is None  # removed when found expired
    assert store.get("no-such-token") is None


def test_a_user_keeps_at_most_max_sessions_the_oldest_ends(tmp_path: Path) -> None:
    """Signing in again and again (valid keys cost nothing to reuse) cannot fill the data disk with records."""
    store = SessionStore(tmp_path)
    other, _ = store.create("BK", "secret", now=1000.0)
    tokens = [store.create("AK", "secret", now=1000.0 + i)[0] for i in range(MAX_SESSIONS_PER_USER + 1)]
    assert store.get(tokens[0], now=2000.0) is None
    assert all(store.get(t, now=2000.0) is not None for t in tokens[1:])
    assert store.get(other, now=2000.0) is not None  # another user's sessions are not counted against this one
    assert len(list(store.dir.iterdir())) == MAX_SESSIONS_PER_USER + 1


def test_failed_sign_ins_are_rate_limited_and_logged(tmp_path: Path) -> None:
    proc = start_console_daemon(tmp_path)  # two workers: the count is the daemon's, not one worker's
    try:
        b = Browserless(proc.port)
        for _ in range(MAX_FAILURES):
            assert b.sign_in(ALICE[0], "wrong secret").status == 401
        r = b.sign_in(ALICE[0], ALICE[1])  # even the right secret waits now
        assert r.status == 429
        assert int(r.headers["Retry-After"]) > 0
        assert "s3d_console" not in b.jar
        log = (tmp_path / f"s3d-{proc.port}.log").read_text()
        assert log.count(f"console sign-in failed for access key '{ALICE[0]}' from 127.0.0.1") == MAX_FAILURES
        assert "wrong secret" not in log
    finally:
        proc.stop()


def test_a_successful_sign_in_does_not_clear_the_addresss_failures(tmp_path: Path) -> None:
    """One's own keys must not buy more guesses at another user's secret."""
    proc = start_console_daemon(tmp_path)
    try:
        b = Browserless(proc.port)
        for _ in range(MAX_FAILURES - 1):
            assert b.sign_in(ALICE[0], "guess").status == 401
        assert b.sign_in(BOB[0], BOB[1]).status == 303
        assert b.sign_in(ALICE[0], "guess").status == 401
        assert b.sign_in(ALICE[0], "guess").status == 429
    finally:
        proc.stop()


def test_the_console_can_be_turned_off(tmp_path: Path) -> None:
    proc = start_console_daemon(tmp_path, "--no-console", workers=1)
    try:
        r = Browserless(proc.port).send("GET", CONSOLE + "signin")
        assert r.status == 501
        assert b"<Code>NotImplemented</Code>" in r.body
    finally:
        proc.stop()


def test_signed_urls_carry_any_key_and_are_authorized_as_the_user(daemon: tuple[S3dProcess, int]) -> None:
    proc = daemon[0]
    alice = client_for(proc.endpoint, ALICE[0], ALICE[1])
    alice.create_bucket(Bucket="alice-keys")
    key = "dir/é ü+%#?.txt"
    try:
        b = Browserless(proc.port)
        b.sign_in(ALICE[0], ALICE[1])
        r = b.sign({"requests": [{"method": "PUT", "bucket": "alice-keys", "key": key,
                                  "headers": {"x-amz-meta-origin": "console"}}]}, b.csrf())  # fmt: skip
        (url,) = json.loads(r.body)["urls"]
        put = Browserless(proc.port).send("PUT", url, b"any key", {"x-amz-meta-origin": "console"})
        assert put.status == 200, put.body
        got = alice.get_object(Bucket="alice-keys", Key=key)
        assert (got["Body"].read(), got["Metadata"]) == (b"any key", {"origin": "console"})
        # a signed header must be sent as signed
        assert Browserless(proc.port).send("PUT", url, b"other", {"x-amz-meta-origin": "forged"}).status == 403
        # bob's session signs with bob's keys: alice's bucket refuses him
        bob = Browserless(proc.port)
        bob.sign_in(BOB[0], BOB[1])
        (bob_url,) = json.loads(
            bob.sign({"requests": [{"method": "GET", "bucket": "alice-keys", "key": key}]}, bob.csrf()).body
        )["urls"]
        denied = Browserless(proc.port).send("GET", bob_url)
        assert denied.status == 403 and b"<Code>AccessDenied</Code>" in denied.body
    finally:
        alice.delete_object(Bucket="alice-keys", Key=key)
        alice.delete_bucket(Bucket="alice-keys")


def test_the_lag_series_is_for_gateway_mode(daemon: tuple[S3dProcess, int]) -> None:
    b = Browserless(daemon[0].port)
    assert b.send("GET", CONSOLE + "api/lag").status == 401
    b.sign_in(ALICE[0], ALICE[1])
    r = b.send("GET", CONSOLE + "api/lag")
    assert (r.status, json.loads(r.body)) == (200, {"samples": [], "available": False})
