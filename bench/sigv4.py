"""A small, fast AWS SigV4 signer for the harness: presigned URLs and signed headers.

botocore spends most of a presign in its client machinery; the harness needs hundreds of thousands
of presigned URLs (populating a 1,000,000-key bucket), so it signs with the standard library.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _enc(s: str) -> str:
    return quote(s, safe="-_.~")


@dataclass
class Signer:
    host: str  # "127.0.0.1:PORT", exactly what the client sends as Host
    access_key: str
    secret_key: str
    region: str = "us-east-1"

    def _stamp(self, now: float | None) -> tuple[str, str, bytes]:
        t = time.gmtime(now if now is not None else time.time())
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", t)
        date = amz_date[:8]
        key = hmac.new(("AWS4" + self.secret_key).encode(), date.encode(), hashlib.sha256).digest()
        for part in (self.region, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        return amz_date, date, key

    def presign_many(
        self, method: str, paths: list[str], expires: int = 6 * 3600, now: float | None = None
    ) -> list[str]:
        """Presign `method` on each path ("/bucket/key", unencoded); returns "path?query" strings."""
        amz_date, date, key = self._stamp(now)
        scope = f"{date}/{self.region}/s3/aws4_request"
        query = (
            f"X-Amz-Algorithm={ALGORITHM}&X-Amz-Credential={_enc(self.access_key + '/' + scope)}"
            f"&X-Amz-Date={amz_date}&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host"
        )
        tail = f"\nhost:{self.host}\n\nhost\n{UNSIGNED}"
        head = f"{ALGORITHM}\n{amz_date}\n{scope}\n"
        out = []
        for path in paths:
            uri = quote(path, safe="/-_.~")
            canonical = f"{method}\n{uri}\n{query}{tail}"
            sts = head + hashlib.sha256(canonical.encode()).hexdigest()
            sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
            out.append(f"{uri}?{query}&X-Amz-Signature={sig}")
        return out

    def presign(self, method: str, path: str, expires: int = 6 * 3600) -> str:
        return self.presign_many(method, [path], expires)[0]

    def headers(self, method: str, path: str, params: dict[str, str] | None = None) -> tuple[str, dict[str, str]]:
        """Sign a request with an empty body in the Authorization header; returns (target, headers)."""
        amz_date, date, key = self._stamp(None)
        scope = f"{date}/{self.region}/s3/aws4_request"
        uri = quote(path, safe="/-_.~")
        pairs = sorted((_enc(k), _enc(v)) for k, v in (params or {}).items())
        cq = "&".join(f"{k}={v}" for k, v in pairs)
        signed = "host;x-amz-content-sha256;x-amz-date"
        canonical = (
            f"{method}\n{uri}\n{cq}\nhost:{self.host}\nx-amz-content-sha256:{EMPTY_SHA256}\n"
            f"x-amz-date:{amz_date}\n\n{signed}\n{EMPTY_SHA256}"
        )
        sts = f"{ALGORITHM}\n{amz_date}\n{scope}\n" + hashlib.sha256(canonical.encode()).hexdigest()
        sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        hdrs = {
            "Host": self.host,
            "x-amz-date": amz_date,
            "x-amz-content-sha256": EMPTY_SHA256,
            "Authorization": f"{ALGORITHM} Credential={self.access_key}/{scope}, SignedHeaders={signed}, Signature={sig}",
        }
        return (uri + ("?" + cq if cq else "")), hdrs
