"""HTTPS: the server's TLS context, its reload on SIGHUP, and a self-signed certificate for a quick start."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import logging
import os
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from s3d.config import ConfigError, Settings

log = logging.getLogger("s3d")
SELF_SIGNED_DIR = "tls"
CERT_FILE, KEY_FILE = "cert.pem", "key.pem"
SELF_SIGNED_DAYS = 825  # the longest lifetime clients (Apple's, for one) accept for a server certificate
KEY_MODE = 0o600


@dataclass(frozen=True, slots=True)
class Files:
    cert: Path
    key: Path


def files(settings: Settings) -> Files | None:
    """The certificate and key to serve, generating the self-signed pair first if asked to. None: no HTTPS."""
    if settings.tls_cert is not None and settings.tls_key is not None:
        return Files(settings.tls_cert, settings.tls_key)
    if not settings.tls_self_signed:
        return None
    d = settings.data / SELF_SIGNED_DIR
    f = Files(d / CERT_FILE, d / KEY_FILE)
    if not (f.cert.exists() and f.key.exists()):
        hosts = {"localhost", "127.0.0.1", "::1", settings.host_port[0]}
        if settings.listen_tls:
            hosts.add(settings.listen_tls.rpartition(":")[0].strip("[]"))
        write_self_signed(f, sorted(h for h in hosts if h and h not in ("0.0.0.0", "::")))
    return f


def context(f: Files) -> ssl.SSLContext:
    """A server context with the certificate loaded; ConfigError (one line) if the files will not do."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(["http/1.1"])
    try:
        ctx.load_cert_chain(f.cert, f.key)
    except (OSError, ssl.SSLError) as e:
        raise ConfigError(f"cannot use TLS certificate {f.cert} with key {f.key}: {e}") from None
    return ctx


def reload(ctx: ssl.SSLContext, f: Files) -> bool:
    """Load the certificate files again into the live context: new handshakes use them, open connections stay."""
    try:
        ctx.load_cert_chain(f.cert, f.key)
    except (OSError, ssl.SSLError) as e:
        log.error("TLS certificate not reloaded, still serving the previous one: %s", e)
        return False
    log.info("TLS certificate reloaded from %s", f.cert)
    return True


def fingerprint(cert: Path) -> str:
    """SHA-256 fingerprint of a PEM certificate, as browsers and openssl show it (AA:BB:...)."""
    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def write_self_signed(f: Files, hosts: list[str]) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "s3d self-signed")])
    sans: list[x509.GeneralName] = []
    for h in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=SELF_SIGNED_DAYS))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    f.key.parent.mkdir(parents=True, exist_ok=True)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write(f.key, key_pem, KEY_MODE)
    _write(f.cert, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


@dataclass(frozen=True, slots=True)
class Listener:
    """Where HTTPS is served: on its own socket (--listen-tls), or on the main listener (sock None)."""

    files: Files
    sock: socket.socket | None


def listener(settings: Settings, sock: socket.socket | None) -> Listener | None:
    """The HTTPS setup, its certificate checked once before the workers start (ConfigError if unusable)."""
    f = files(settings)
    if f is None:
        return None
    context(f)
    return Listener(f, sock)


def announce(h: Listener) -> None:
    where = ""
    if h.sock is not None:
        host, port = h.sock.getsockname()[:2]
        where = f"s3d listening on https://{host}:{port}; "
    print(f"{where}TLS certificate {h.files.cert} (SHA-256 fingerprint {fingerprint(h.files.cert)})", flush=True)


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"listen address must be HOST:PORT, got {address!r}")
    return host.strip("[]"), int(port)
