"""Console sessions: a random token in an HttpOnly cookie, its record in DATA/console/sessions/.

Records live in files (not in one worker's memory) because every worker process serves the console: a session
made by one worker is read by the others, and signing out deletes the record for all of them. A record is named by
the token's SHA-256, so the directory's listing never holds a usable token.

A record also holds an HMAC of the user's secret key under the token (``key_tag``): a session made with a secret
that is no longer the user's (rotated after a leak) is over, and the tag is of no use without the token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

SESSION_SECONDS = 8 * 3600  # a session's lifetime from sign-in; the cookie's Max-Age is the same
MAX_SESSIONS_PER_USER = 32  # live sessions of one access key; a new one beyond it ends the oldest
TOKEN_BYTES = 32
SESSIONS_DIR = Path("console") / "sessions"
RECORD_SUFFIX = ".json"


@dataclass(frozen=True, slots=True)
class Session:
    access_key: str
    csrf: str  # the token every state-changing request must carry (a form field or the X-CSRF-Token header)
    expires: float
    key_tag: str  # key_tag(token, the secret key signed in with)


def key_tag(token: str, secret_key: str) -> str:
    return hmac.new(token.encode(), secret_key.encode(), hashlib.sha256).hexdigest()


def signed_in_with(token: str, session: Session, secret_key: str) -> bool:
    """Whether the session was made with this secret key (False once the user's secret changed)."""
    return hmac.compare_digest(session.key_tag, key_tag(token, secret_key))


class SessionStore:
    def __init__(self, data: Path) -> None:
        self.dir = data / SESSIONS_DIR

    def _path(self, token: str) -> Path:
        return self.dir / (hashlib.sha256(token.encode()).hexdigest() + RECORD_SUFFIX)

    def create(self, access_key: str, secret_key: str, now: float | None = None) -> tuple[str, Session]:
        now = time.time() if now is None else now
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.sweep(now, making_for=access_key)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        csrf = secrets.token_urlsafe(TOKEN_BYTES)
        session = Session(access_key, csrf, now + SESSION_SECONDS, key_tag(token, secret_key))
        path = self._path(token)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            record = {"access_key": access_key, "csrf": csrf, "expires": session.expires, "key_tag": session.key_tag}
            json.dump(record, f)
        os.replace(tmp, path)
        return token, session

    def get(self, token: str, now: float | None = None) -> Session | None:
        """The live session of a token; None for an unknown, malformed or expired one."""
        if not token or len(token) > 4 * TOKEN_BYTES:
            return None
        try:
            raw = json.loads(self._path(token).read_text())
            session = Session(str(raw["access_key"]), str(raw["csrf"]), float(raw["expires"]), str(raw["key_tag"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if session.expires <= (time.time() if now is None else now):
            self.drop(token)
            return None
        return session

    def drop(self, token: str) -> None:
        try:
            self._path(token).unlink()
        except (FileNotFoundError, ValueError):
            pass

    def sweep(self, now: float, making_for: str | None = None) -> None:
        """Remove expired records, and the oldest of ``making_for``'s live ones beyond MAX_SESSIONS_PER_USER - 1
        (called at each sign-in, before its new record: the directory stays small)."""
        theirs: list[tuple[float, Path]] = []
        for p in self.dir.glob("*" + RECORD_SUFFIX):
            try:
                raw = json.loads(p.read_text())
                expires = float(raw["expires"])
                if expires <= now:
                    p.unlink()
                elif raw["access_key"] == making_for:
                    theirs.append((expires, p))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        theirs.sort()
        for _, p in theirs[: max(0, len(theirs) - MAX_SESSIONS_PER_USER + 1)]:
            p.unlink(missing_ok=True)
