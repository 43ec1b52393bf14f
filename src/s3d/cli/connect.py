"""Finding the daemon and talking to it: its endpoint, its credentials, an S3 client and the /_s3d/* API.

The endpoint is --endpoint, else S3D_ENDPOINT, else the daemon's listen address (S3D_LISTEN or the
config file; 127.0.0.1:9000 by default). The credentials are S3D_ACCESS_KEY/S3D_SECRET_KEY, else the
first user of the --config file, else the data dir's credentials.json (--data, S3D_DATA, ./s3d-data).
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from s3d import config
from s3d.cli.errors import CliError, NoDaemon, S3Failure, UsageError
from s3d.server import tls

DEFAULT_ENDPOINT = "http://127.0.0.1:9000"
REGION = "us-east-1"
AUTH_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("daemon")
    g.add_argument(
        "--endpoint", metavar="URL", help=f"the daemon's URL (also S3D_ENDPOINT; default {DEFAULT_ENDPOINT})"
    )
    g.add_argument(
        "--data",
        metavar="DIR",
        help="the daemon's data dir, for its credentials.json (also S3D_DATA; default ./s3d-data)",
    )
    g.add_argument(
        "--config",
        metavar="FILE",
        help="the daemon's TOML settings file: its listen address and first user (also S3D_CONFIG)",
    )


def endpoint_from_listen(listen: str, scheme: str = "http") -> str:
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


def normalize_endpoint(url: str) -> str:
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"endpoint must be an http(s) URL, got {url!r}")
    return url


@dataclass
class Daemon:
    endpoint: str
    access_key: str | None
    secret_key: str | None
    data: str
    region: str = REGION  # the daemon's region: its signatures must name it
    ca: str | None = None  # the daemon's self-signed certificate, trusted for its HTTPS endpoint
    _s3: Any = field(default=None, repr=False)

    def tls_context(self) -> ssl.SSLContext | None:
        return ssl.create_default_context(cafile=self.ca) if self.ca and self.endpoint.startswith("https") else None

    def s3(self) -> Any:
        """A botocore S3 client for the daemon (path-style, signed with the daemon's credentials)."""
        if self._s3 is None:
            credentials = self.credentials()
            self.probe()  # fail fast: botocore would retry a refused connection with backoff
            self._s3 = make_client(self.endpoint, *credentials, region=self.region, verify=self.ca)
        return self._s3

    def credentials(self) -> tuple[str, str]:
        if self.access_key is None or self.secret_key is None:
            self.probe()  # a missing daemon is the more useful message
            raise UsageError(
                f"no credentials for the daemon: set S3D_ACCESS_KEY and S3D_SECRET_KEY, or point --data at its data dir "
                f"(no {config.credentials_file(Path(self.data))})"
            )
        return self.access_key, self.secret_key

    def probe(self) -> None:
        """Raise NoDaemon unless something answers HTTP at the endpoint."""
        try:
            with urllib.request.urlopen(self.endpoint + "/_s3d/health", timeout=5, context=self.tls_context()):
                pass
        except urllib.error.HTTPError:
            pass  # it answered
        except (OSError, ValueError):
            raise NoDaemon(self.endpoint) from None

    def admin(
        self, method: str, path: str, params: dict[str, str] | None = None, timeout: float = 60
    ) -> tuple[int, Any]:
        """A SigV4-signed call to /_s3d/<path>; returns (status, JSON body); S3 errors raise S3Failure."""
        import botocore.auth
        import botocore.awsrequest
        import botocore.credentials

        ak, sk = self.credentials()
        query = "?" + urlencode({k: v for k, v in (params or {}).items() if v is not None}) if params else ""
        url = f"{self.endpoint}/_s3d/{path}{query}"
        req = botocore.awsrequest.AWSRequest(
            method=method, url=url, headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
        )
        botocore.auth.SigV4Auth(botocore.credentials.Credentials(ak, sk), "s3", self.region).add_auth(req)
        r = urllib.request.Request(url, method=method, headers=dict(req.headers.items()))
        try:
            with urllib.request.urlopen(r, timeout=timeout, context=self.tls_context()) as resp:
                return resp.status, _json(resp.read())
        except urllib.error.HTTPError as e:
            body = e.read()
            if "json" in (e.headers.get("Content-Type") or ""):
                return e.code, _json(body)
            code, message = parse_error_xml(body, e.code)
            raise failure(code, message) from None
        except TimeoutError:
            raise CliError(f"s3d at {self.endpoint} did not answer within {timeout:g}s") from None
        except urllib.error.URLError as e:
            if isinstance(e.reason, TimeoutError):
                raise CliError(f"s3d at {self.endpoint} did not answer within {timeout:g}s") from None
            raise NoDaemon(self.endpoint) from None
        except (ConnectionError, OSError):
            raise NoDaemon(self.endpoint) from None


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise CliError(f"the daemon answered something that is not JSON: {body[:200]!r}") from None


def parse_error_xml(body: bytes, status: int) -> tuple[str, str]:
    try:
        root = ET.fromstring(body)
        return root.findtext("Code") or str(status), root.findtext("Message") or ""
    except ET.ParseError:
        return str(status), body.decode(errors="replace").strip()[:200]


def failure(code: str, message: str, context: str = "") -> S3Failure:
    f = S3Failure(code, message, context)
    if code in AUTH_CODES:
        f.args = (f"{f.args[0]} (check S3D_ACCESS_KEY/S3D_SECRET_KEY, or --data for the daemon's credentials.json)",)
    return f


def make_client(
    endpoint: str,
    access_key: str | None,
    secret_key: str | None,
    region: str | None = None,
    verify: str | None = None,
    **config_args: Any,
) -> Any:
    """A botocore S3 client; with no keys, the standard AWS credential chain."""
    import boto3
    from botocore.config import Config

    cfg = Config(
        s3={"addressing_style": "path"},
        signature_version="s3v4",
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=5,
        read_timeout=300,
        **config_args,
    )
    session = boto3.session.Session()
    return session.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=region or (REGION if access_key is not None else remote_region()),
        verify=verify,
        config=cfg,
    )


def remote_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or REGION


def translate(e: Exception, endpoint: str, daemon: bool = True) -> CliError | None:
    """A botocore exception as the one line the user sees; None for anything else."""
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        EndpointConnectionError,
        NoCredentialsError,
        ReadTimeoutError,
    )

    if isinstance(e, ClientError):
        err = e.response.get("Error", {})
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        code = str(err.get("Code") or status)
        message = str(err.get("Message") or "")
        if code == "404":
            code, message = "NotFound", message if message != "Not Found" else "no such object or bucket"
        resource = err.get("Resource") or err.get("Key") or err.get("BucketName")
        if resource:
            message = f"{message} ({resource})" if message else str(resource)
        return failure(code, message)
    if isinstance(e, EndpointConnectionError | ConnectionClosedError):
        return NoDaemon(endpoint) if daemon else CliError(f"cannot connect to {endpoint}")
    if isinstance(e, ReadTimeoutError):
        return CliError(f"{endpoint} did not answer in time")
    if isinstance(e, NoCredentialsError):
        return CliError("no AWS credentials found (the standard AWS credential chain is empty)")
    return None


def resolve(args: argparse.Namespace) -> Daemon:
    try:
        settings = config.load({"data": args.data, "config": args.config})
    except config.ConfigError as e:
        raise UsageError(str(e)) from None
    listen = settings.listen_tls or settings.listen  # the daemon's HTTPS listener, when it has one
    scheme = "https" if settings.tls else "http"
    endpoint = args.endpoint or os.environ.get("S3D_ENDPOINT") or endpoint_from_listen(listen, scheme)
    own_cert = settings.data / tls.SELF_SIGNED_DIR / tls.CERT_FILE  # --tls-self-signed's certificate
    ca = str(own_cert) if settings.tls_self_signed and own_cert.exists() else None
    ak = sk = None
    if settings.users:
        ak, sk = settings.users[0].access_key, settings.users[0].secret_key
    else:
        path = config.credentials_file(settings.data)
        if path.exists():
            try:
                d = json.loads(path.read_text())
                ak, sk = d["access_key"], d["secret_key"]
            except (OSError, ValueError, KeyError, TypeError) as e:
                raise CliError(f"cannot read {path}: {e}") from None
    return Daemon(normalize_endpoint(endpoint), ak, sk, str(settings.data), settings.region, ca)
