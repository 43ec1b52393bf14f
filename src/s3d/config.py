"""Settings: command-line flags over S3D_* environment variables over a TOML file over defaults."""

from __future__ import annotations

import json
import os
import secrets
import string
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from s3d.crypto.keys import Keyring
from s3d.filters import setting as filter_setting
from s3d.filters.evaluate import Filter
from s3d.gateway.config import GatewaySettings
from s3d.mount import settings as mount_settings
from s3d.mount.settings import MountSettings
from s3d.store.erasure.layout import Layout, LayoutError
from s3d.store.erasure.layout import parse as parse_layout
from s3d.sync import config as sync_config


class ConfigError(Exception):
    """A setting is wrong; the message says which, in one line."""


@dataclass(slots=True)
class User:
    access_key: str
    secret_key: str
    name: str
    admin: bool = False  # sees and acts on every user's buckets in the /_s3d/ admin API


@dataclass(slots=True)
class Settings:
    data: Path = Path("s3d-data")
    listen: str = "127.0.0.1:9000"
    workers: int = 1
    region: str = "us-east-1"
    base_domains: list[str] = field(default_factory=lambda: ["localhost"])
    inline_max: int = 64 * 1024
    log_level: str = "info"
    lifecycle_day_seconds: float = 86400.0  # a lifecycle rule's "day" (shorter in tests)
    log_format: str | None = None  # human | json; None: human on a terminal
    users: list[User] = field(default_factory=list)
    generated_credentials: bool = False
    gateway: GatewaySettings | None = None  # set when a remote is configured
    upload_filter: Filter | None = None  # what gateway mode ships (docs/filters.md)
    cache_filter: Filter | None = None  # which remote objects the read cache keeps
    sync_filter: Filter | None = None  # what the sync directory holds
    mount_filter: Filter | None = None  # what the mount shows
    sync: list[sync_config.SyncPair] = field(default_factory=list)  # folders kept in sync with buckets (docs/sync.md)
    mounts: list[MountSettings] = field(default_factory=list)  # [[mount]]: bound while the daemon runs
    master_key_file: Path | None = None  # SSE master keys; None: DATA/master-keys.json
    master_key: str | None = None  # SSE master keys given directly: id:base64[,id:base64...], newest last
    kms_keys: dict[str, str] | str = field(default_factory=dict)  # SSE-KMS keyring: name -> base64 key
    keyring: Keyring | None = None  # loaded once, before the workers fork (s3d.crypto.setup)
    tls_cert: Path | None = None  # PEM certificate (chain) for HTTPS
    tls_key: Path | None = None  # its PEM private key
    tls_self_signed: bool = False  # generate a key and certificate into the data dir
    listen_tls: str | None = None  # a second listener for HTTPS; without it the main listener is HTTPS
    drives: list[Path] = field(default_factory=list)  # an erasure-coded pool's drives (docs/erasure.md)
    erasure: str | None = None  # K+M of that pool, e.g. "4+2"
    scrub_bytes_per_second: int = 64 << 20  # the pool's background scrub reads at most this much
    layout: Layout | None = None  # the pool, checked (set by load when drives are given)
    mirrors: list[Path] = field(default_factory=list)  # metadata mirrors in use (set at start, store/mirror.py)
    console: bool = True  # the web console at /_s3d/console/ (docs/console.md)

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None or self.tls_self_signed

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"listen address must be HOST:PORT, got {self.listen!r}")
        return host.strip("[]"), int(port)

    def secrets(self) -> dict[str, str]:
        return {u.access_key: u.secret_key for u in self.users}

    def filter_for(self, feature: filter_setting.Feature) -> Filter | None:
        f: Filter | None = getattr(self, feature.setting)
        return f


ENV_KEYS = {
    "data": "S3D_DATA",
    "listen": "S3D_LISTEN",
    "workers": "S3D_WORKERS",
    "region": "S3D_REGION",
    "base_domains": "S3D_BASE_DOMAINS",
    "inline_max": "S3D_INLINE_MAX",
    "log_level": "S3D_LOG_LEVEL",
    "log_format": "S3D_LOG_FORMAT",
    "lifecycle_day_seconds": "S3D_LIFECYCLE_DAY_SECONDS",
    "tls_cert": "S3D_TLS_CERT",
    "tls_key": "S3D_TLS_KEY",
    "tls_self_signed": "S3D_TLS_SELF_SIGNED",
    "listen_tls": "S3D_LISTEN_TLS",
    "console": "S3D_CONSOLE",
    **{f.setting: f.env for f in filter_setting.Feature},
    "master_key_file": "S3D_MASTER_KEY_FILE",
    "master_key": "S3D_MASTER_KEY",
    "kms_keys": "S3D_KMS_KEYS",
    "drives": "S3D_DRIVES",
    "erasure": "S3D_ERASURE",
    "scrub_bytes_per_second": "S3D_SCRUB_BYTES_PER_SECOND",
}
TRUE_WORDS = ("1", "true", "yes", "on")


def _coerce(name: str, value: Any) -> Any:
    if name in filter_setting.SETTINGS:
        try:
            return filter_setting.load(name, value)
        except filter_setting.FilterSettingError as e:
            raise ConfigError(str(e)) from None
    try:
        if name in ("data", "master_key_file", "tls_cert", "tls_key"):
            return Path(value)
        if name == "kms_keys" and not isinstance(value, str | dict):
            raise TypeError(name)
        if name in ("tls_self_signed", "console"):
            return value if isinstance(value, bool) else str(value).strip().lower() in TRUE_WORDS
        if name == "drives":
            listed = value.split(",") if isinstance(value, str) else list(value)
            return [Path(str(d).strip()) for d in listed if str(d).strip()]
        if name in ("workers", "inline_max", "scrub_bytes_per_second"):
            return int(value)
        if name == "lifecycle_day_seconds":
            seconds = float(value)
            if not seconds > 0:
                raise ValueError(seconds)
            return seconds
        if name == "base_domains":
            return [d.strip() for d in value.split(",") if d.strip()] if isinstance(value, str) else list(value)
    except (TypeError, ValueError):
        raise ConfigError(f"setting {name}: cannot use {value!r}") from None
    return value


def load(flags: dict[str, Any], env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ) if env is None else env
    s = Settings()
    s.workers = os.cpu_count() or 1
    config_path = flags.get("config") or env.get("S3D_CONFIG")
    file_users: list[User] = []
    raw: dict[str, Any] = {}
    if config_path:
        try:
            raw = tomllib.loads(Path(config_path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ConfigError(f"cannot read config file {config_path}: {e}") from None
        for name in ENV_KEYS:
            if name in raw:
                setattr(s, name, _coerce(name, raw[name]))
        s.mounts = _mounts(config_path, raw.get("mount", []))
        for i, u in enumerate(raw.get("users", [])):
            try:
                admin = u.get("admin", False)
                if not isinstance(admin, bool):
                    raise ConfigError(f"config file {config_path}: users[{i}].admin must be true or false")
                file_users.append(User(u["access_key"], u["secret_key"], u.get("name", u["access_key"]), admin))
            except (KeyError, TypeError, AttributeError):
                raise ConfigError(f"config file {config_path}: users[{i}] needs access_key and secret_key") from None
    for name, var in ENV_KEYS.items():
        if var in env and env[var] != "":
            setattr(s, name, _coerce(name, env[var]))
    for name in ENV_KEYS:
        if flags.get(name) is not None:
            setattr(s, name, _coerce(name, flags[name]))
    s.sync = _sync_pairs(flags, env, raw.get("sync") if config_path else None)
    if s.workers < 1:
        raise ConfigError("workers must be at least 1")
    s.host_port  # noqa: B018 - validates the listen address
    _check_tls(s)
    _check_pool(s)
    ak, sk = env.get("S3D_ACCESS_KEY"), env.get("S3D_SECRET_KEY")
    if ak and sk:
        s.users.append(User(ak, sk, ak, admin=True))  # the operator's own key, as the generated one would be
    elif ak or sk:
        raise ConfigError("set both S3D_ACCESS_KEY and S3D_SECRET_KEY, or neither")
    s.users.extend(u for u in file_users if u.access_key != ak)
    _check_unique(s.users)
    return s


def _check_tls(s: Settings) -> None:
    if (s.tls_cert is None) != (s.tls_key is None):
        raise ConfigError("set both tls_cert and tls_key (--tls-cert, --tls-key), or neither")
    if s.tls_cert is not None and s.tls_self_signed:
        raise ConfigError("--tls-self-signed and --tls-cert exclude each other")
    if s.listen_tls is not None:
        if not s.tls:
            raise ConfigError("--listen-tls needs --tls-cert/--tls-key or --tls-self-signed")
        host, _, port = s.listen_tls.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"listen_tls address must be HOST:PORT, got {s.listen_tls!r}")


def _check_pool(s: Settings) -> None:
    if not s.drives and s.erasure is None:
        return
    if not s.drives or s.erasure is None:
        raise ConfigError("an erasure-coded pool needs both drives (--drives) and erasure (--erasure K+M)")
    if s.scrub_bytes_per_second < 1:
        raise ConfigError("scrub_bytes_per_second must be at least 1")
    try:
        s.layout = parse_layout(s.erasure, s.drives)
    except LayoutError as e:
        raise ConfigError(str(e)) from None


def _sync_pairs(flags: dict[str, Any], env: dict[str, str], tables: Any) -> list[sync_config.SyncPair]:
    """--sync (repeatable) over S3D_SYNC over the TOML file's [[sync]] tables."""
    try:
        if flags.get("sync"):
            pairs = [sync_config.parse_spec(spec) for spec in flags["sync"]]
        elif env.get(sync_config.ENV):
            pairs = sync_config.parse_env(env[sync_config.ENV])
        elif tables is not None:
            if not isinstance(tables, list):
                raise sync_config.SyncConfigError("sync must be a list of [[sync]] tables")
            pairs = [sync_config.parse_table(t, f"sync[{i}]") for i, t in enumerate(tables)]
        else:
            pairs = []
        sync_config.check_distinct(pairs)
    except sync_config.SyncConfigError as e:
        raise ConfigError(str(e)) from None
    return pairs


def _mounts(config_path: str, raw: Any) -> list[MountSettings]:
    if not isinstance(raw, list):
        raise ConfigError(f"config file {config_path}: mount must be an array of tables ([[mount]])")
    try:
        return [mount_settings.from_toml(i, m) for i, m in enumerate(raw)]
    except mount_settings.MountConfigError as e:
        raise ConfigError(f"config file {config_path}: {e}") from None


def _check_unique(users: list[User]) -> None:
    """Two users sharing an access key, or a name (which owns buckets), would be indistinguishable."""
    keys: set[str] = set()
    names: set[str] = set()
    for u in users:
        if u.access_key in keys:
            raise ConfigError(f"access key {u.access_key!r} is given to more than one user")
        if u.name in names:
            raise ConfigError(f"user name {u.name!r} is given to more than one user")
        keys.add(u.access_key)
        names.add(u.name)


def credentials_file(data: Path) -> Path:
    return data / "credentials.json"


def ensure_credentials(s: Settings) -> User | None:
    """With no configured user, load or create the data dir's own key pair. Returns it if newly made."""
    if s.users:
        return None
    path = credentials_file(s.data)
    if path.exists():
        d = json.loads(path.read_text())
        s.users.append(User(d["access_key"], d["secret_key"], d.get("name", "admin"), admin=True))
        return None
    try:
        s.data.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot use data dir {s.data}: {e.strerror}") from None
    alphabet = string.ascii_uppercase + string.digits
    user = User(
        "S3D" + "".join(secrets.choice(alphabet) for _ in range(17)),
        secrets.token_urlsafe(30)[:40],
        "admin",
        admin=True,
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"access_key": user.access_key, "secret_key": user.secret_key, "name": user.name}, f)
        f.flush()
        os.fsync(f.fileno())
    s.users.append(user)
    s.generated_credentials = True
    return user
