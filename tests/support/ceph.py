"""A real Ceph cluster for gateway tests: one monitor, one manager, one OSD with the in-memory `memstore` object
store, all on loopback in a private directory with its own ceph.conf, and radosgw (the S3 gateway, beast
frontend) processes in front of it. Each test gets a radosgw of its own (so an outage test can stop, hang or
kill it without touching other tests) and an S3 user in a tenant of its own (so bucket names are private to
the test, as on separate clusters).
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import boto3

from tests.support.server import free_port, wait_http

PACKAGES = "ceph-mon ceph-mgr ceph-osd radosgw ceph-common"
BINARIES = ("ceph-mon", "ceph-mgr", "ceph-osd", "radosgw", "radosgw-admin", "ceph", "ceph-authtool", "monmaptool")
MON_ID, MGR_ID, OSD_ID = "a", "x", "0"
MEMSTORE_BYTES = 4 * 1024**3  # the OSD keeps object data in its own memory, up to this
POOL_PG_NUM = 8  # a one-OSD cluster needs few placement groups; fewer start faster
START_TIMEOUT = 120.0  # seconds for the cluster to come up (about 15 s here)
RGW_START_TIMEOUT = 60.0  # seconds for a radosgw to answer (the first one creates its pools)
COMMAND_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0  # seconds a radosgw gets to stop cleanly
USER = "tester"  # the S3 user of each radosgw, in the radosgw's own tenant
WAIT_STEP = 0.2


SKIP_REASON = f"Ceph RGW tests skipped: Ceph is not installed (apt-get install {PACKAGES})"


def missing_binaries() -> list[str]:
    return [b for b in BINARIES if shutil.which(b) is None]


def _conf(d: Path, fsid: str, mon_v1: int, mon_v2: int) -> str:
    return f"""[global]
fsid = {fsid}
mon host = [v2:127.0.0.1:{mon_v2},v1:127.0.0.1:{mon_v1}]
mon initial members = {MON_ID}
public addr = 127.0.0.1
public network = 127.0.0.0/8
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = {d}/keyring
run dir = {d}/run
admin socket = {d}/run/$name.asok
pid file = {d}/run/$name.pid
log file = {d}/log/$name.log
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd pool default pg num = {POOL_PG_NUM}
osd pool default pgp num = {POOL_PG_NUM}
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
mon data avail warn = 1
mon data avail crit = 0

[mon]
mon data = {d}/mon.$id

[mgr]
mgr data = {d}/mgr.$id

[osd]
osd data = {d}/osd.$id
osd objectstore = memstore
memstore device bytes = {MEMSTORE_BYTES}

[client]
rgw dns name = localhost
"""


@dataclass
class CephCluster:
    """The RADOS part: monitor, manager and OSD, started once per test run and stopped by PID."""

    dir: Path
    fsid: str = ""
    mon_v1: int = 0
    mon_v2: int = 0
    pids: dict[str, int] = field(default_factory=dict)

    @property
    def conf(self) -> Path:
        return self.dir / "ceph.conf"

    @property
    def keyring(self) -> Path:
        return self.dir / "keyring"

    def run(self, *cmd: str, timeout: float = COMMAND_TIMEOUT) -> str:
        """Run a Ceph command against this cluster; its output, or an error carrying its stderr."""
        r = subprocess.run([cmd[0], "-c", str(self.conf), *cmd[1:]], capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()[-2000:]}")
        return r.stdout

    def _daemon(self, name: str, *cmd: str) -> None:
        """Start a daemon in the foreground of its own session (its own log file, no terminal)."""
        proc = subprocess.Popen([cmd[0], "-f", "-c", str(self.conf), *cmd[1:]], stdin=subprocess.DEVNULL,
                                stdout=open(self.dir / "log" / f"{name}.out", "ab"), stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
        self.pids[name] = proc.pid

    def start(self) -> CephCluster:
        for sub in ("run", "log", f"mon.{MON_ID}", f"mgr.{MGR_ID}", f"osd.{OSD_ID}"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self.fsid = str(uuid.uuid4())
        self.mon_v1, self.mon_v2 = free_port(), free_port()
        self.conf.write_text(_conf(self.dir, self.fsid, self.mon_v1, self.mon_v2))
        k = str(self.keyring)
        self.run("ceph-authtool", "--create-keyring", k, "--gen-key", "-n", "mon.", "--cap", "mon", "allow *")
        self.run("ceph-authtool", k, "--gen-key", "-n", "client.admin", "--cap", "mon", "allow *", "--cap", "osd",
                 "allow *", "--cap", "mgr", "allow *", "--cap", "mds", "allow *")  # fmt: skip
        self.run("ceph-authtool", k, "--gen-key", "-n", f"mgr.{MGR_ID}", "--cap", "mon", "allow profile mgr",
                 "--cap", "osd", "allow *", "--cap", "mds", "allow *")  # fmt: skip
        self.run("ceph-authtool", k, "--gen-key", "-n", f"osd.{OSD_ID}", "--cap", "mon", "allow profile osd",
                 "--cap", "mgr", "allow profile osd", "--cap", "osd", "allow *")  # fmt: skip
        monmap = str(self.dir / "monmap")
        self.run("monmaptool", "--create", "--fsid", self.fsid, "--addv", MON_ID,
                 f"[v2:127.0.0.1:{self.mon_v2},v1:127.0.0.1:{self.mon_v1}]", monmap)  # fmt: skip
        self.run("ceph-mon", "--mkfs", "-i", MON_ID, "--monmap", monmap, "--keyring", k)
        self._daemon("mon", "ceph-mon", "-i", MON_ID)
        self._daemon("mgr", "ceph-mgr", "-i", MGR_ID)
        osd_uuid = str(uuid.uuid4())
        osd_id = self.run("ceph", "osd", "new", osd_uuid).strip()
        if osd_id != OSD_ID:
            raise RuntimeError(f"the new OSD got id {osd_id!r}, expected {OSD_ID}")
        self.run("ceph-osd", "-i", OSD_ID, "--mkfs", "--osd-uuid", osd_uuid)
        self._daemon("osd", "ceph-osd", "-i", OSD_ID)
        deadline = time.monotonic() + START_TIMEOUT
        while json.loads(self.run("ceph", "osd", "stat", "-f", "json")).get("num_up_osds") != 1:
            self._check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError("the OSD did not come up")
            time.sleep(WAIT_STEP)
        return self

    def _check_alive(self) -> None:
        for name, pid in self.pids.items():
            if not _alive(pid):
                raise RuntimeError(f"ceph {name} (pid {pid}) exited; see {self.dir / 'log'}")

    def stop(self) -> None:
        for pid in self.pids.values():
            _kill(pid)
        self.pids.clear()

    def add_rgw_key(self, name: str) -> Path:
        """A cephx key for one more radosgw, in a keyring file of its own."""
        path = self.dir / f"keyring.{name}"
        out = self.run("ceph", "auth", "get-or-create", f"client.{name}", "mon", "allow rw", "osd", "allow rwx")
        path.write_text(out)
        return path

    def create_user(self, tenant: str, uid: str) -> tuple[str, str]:
        """An S3 user in a tenant of its own (its buckets live in that tenant): its access key and secret."""
        access, secret = "AK" + secrets.token_hex(9).upper(), secrets.token_urlsafe(30)
        # without its cache, radosgw-admin tells no running radosgw to drop cached entries (a new user is in no
        # cache): that notification waits 30 s for the watch of a radosgw that was killed or is stopped
        self.run("radosgw-admin", "--rgw-cache-enabled=false", "user", "create", "--tenant", tenant, "--uid", uid,
                 "--display-name", uid, "--access-key", access, "--secret", secret)  # fmt: skip
        return access, secret

    def remove_user(self, tenant: str, uid: str) -> None:
        """Remove a user with its buckets and objects (memstore keeps them in memory)."""
        self.run("radosgw-admin", "--rgw-cache-enabled=false", "user", "rm", "--tenant", tenant, "--uid", uid,
                 "--purge-data")  # fmt: skip

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "dir": str(self.dir)})

    @classmethod
    def from_json(cls, text: str) -> CephCluster:
        d: dict[str, Any] = json.loads(text)
        return cls(Path(d["dir"]), d["fsid"], d["mon_v1"], d["mon_v2"], d["pids"])


def _alive(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:  # not our child: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return not Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


_instances = iter(range(1 << 30))


@dataclass
class RadosGateway:
    """One radosgw in front of the cluster, with one S3 user: a remote S3 for s3d, like RemoteServer."""

    cluster: CephCluster
    name: str = ""
    kind: str = "rgw"
    port: int = 0
    access_key: str = ""
    secret_key: str = ""
    proc: subprocess.Popen[bytes] | None = None
    keyring: Path | None = None
    # Off for tests: with its metadata cache on, a radosgw that writes metadata (a new bucket) waits for every other
    # radosgw to acknowledge a cache notification, and one a test has killed or stopped holds that wait for 30 s.
    # Each test's radosgw serves a tenant of its own, so there is nothing to keep coherent between them.
    metadata_cache: bool = False

    def __post_init__(self) -> None:
        if not self.name:
            self.name = f"rgw.t{os.getpid()}x{next(_instances)}"
        self.keyring = self.cluster.add_rgw_key(self.name)
        self.access_key, self.secret_key = self.cluster.create_user(self.tenant, USER)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def tenant(self) -> str:
        return self.name.replace(".", "")

    @property
    def log(self) -> Path:
        return self.cluster.dir / "log" / f"client.{self.name}.out"

    def start(self) -> RadosGateway:
        self.port = self.port or free_port()
        assert self.keyring is not None
        self.proc = subprocess.Popen(
            ["radosgw", "-f", "-c", str(self.cluster.conf), "-n", f"client.{self.name}", "--keyring", str(self.keyring),
             "--rgw-frontends", f"beast endpoint=127.0.0.1:{self.port}",
             f"--rgw-cache-enabled={str(self.metadata_cache).lower()}"],
            stdin=subprocess.DEVNULL, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        wait_http(self.url, timeout=RGW_START_TIMEOUT, proc=self.proc)
        return self

    def stop(self) -> None:
        """A dead remote: radosgw is killed with SIGKILL (connection refused)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # a paused one dies too
            self.proc.kill()
            self.proc.wait()

    def terminate(self) -> None:
        """A clean stop (SIGTERM), then its user, buckets and objects are removed."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.stop()
        self.cluster.remove_user(self.tenant, USER)

    def pause(self) -> None:
        """A hung remote: radosgw is stopped (SIGSTOP); the kernel still accepts connections."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def restart(self) -> None:
        self.stop()
        self.start()

    def client(self):  # type: ignore[no-untyped-def]
        from botocore.config import Config

        return boto3.client(
            "s3", endpoint_url=self.url, aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
            region_name="us-east-1", config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
        )  # fmt: skip

    def env(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key,
                "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip


# ---------- one cluster per test run, shared by the pytest-xdist workers ----------
#
# The first worker that needs the cluster starts it, under a file lock in a directory every worker of the run
# shares, and records it in a state file with the PIDs of the processes using it. Each worker removes itself when
# its session ends, and the last one stops the cluster. A watchdog process stops it if every user died without
# doing so (pytest killed), so no cluster outlives its test run.

STATE_FILE = "ceph-state.json"
LOCK_FILE = "ceph.lock"
WATCH_INTERVAL = 2.0  # seconds between the watchdog's checks


@dataclass
class _State:
    cluster: CephCluster | None = None
    holders: list[int] = field(default_factory=list)
    error: str | None = None  # a start that failed is not tried again in the same run

    @classmethod
    def load(cls, path: Path) -> _State:
        if not path.exists():
            return cls()
        d = json.loads(path.read_text())
        cluster = CephCluster.from_json(d["cluster"]) if d.get("cluster") else None
        return cls(cluster, [p for p in d["holders"] if _pid_alive(p)], d.get("error"))

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"cluster": self.cluster.to_json() if self.cluster else None,
                                   "holders": self.holders, "error": self.error}))  # fmt: skip
        tmp.replace(path)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class _Locked:
    def __init__(self, shared: Path) -> None:
        self.path = shared / LOCK_FILE

    def __enter__(self) -> None:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)  # releases the lock


def acquire(shared: Path) -> CephCluster:
    """The run's cluster, started now if no one has started it; this process is recorded as using it."""
    state_path = shared / STATE_FILE
    with _Locked(shared):
        st = _State.load(state_path)
        if st.error:
            raise RuntimeError(st.error)
        if st.cluster is None or not st.holders:
            if st.cluster is not None:  # its users are gone: the watchdog is stopping it
                st.cluster.stop()
            cluster = CephCluster(Path(tempfile.mkdtemp(prefix="ceph-", dir=shared)))
            try:
                cluster.start()
            except Exception as e:
                cluster.stop()
                st.error = f"the Ceph test cluster did not start: {e}"
                st.save(state_path)
                raise
            st.cluster = cluster
            _start_watchdog(shared)
        st.holders.append(os.getpid())
        st.save(state_path)
        return st.cluster


def release(shared: Path) -> None:
    """This process no longer uses the cluster; the last one out stops it."""
    state_path = shared / STATE_FILE
    with _Locked(shared):
        st = _State.load(state_path)
        st.holders = [p for p in st.holders if p != os.getpid()]
        if not st.holders and st.cluster is not None:
            st.cluster.stop()
            shutil.rmtree(st.cluster.dir, ignore_errors=True)
            st.cluster = None
        st.save(state_path)


def _start_watchdog(shared: Path) -> None:
    subprocess.Popen([sys.executable, "-m", "tests.support.ceph", "watch", str(shared)], stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip


def watch(shared: Path) -> None:
    """Stop the cluster once no process uses it; exit once it is stopped."""
    state_path = shared / STATE_FILE
    while True:
        time.sleep(WATCH_INTERVAL)
        with _Locked(shared):
            st = _State.load(state_path)
            if st.cluster is None:
                return
            if not st.holders:
                st.cluster.stop()
                shutil.rmtree(st.cluster.dir, ignore_errors=True)
                st.cluster = None
                st.save(state_path)
                return


if __name__ == "__main__":
    if sys.argv[1:2] == ["watch"] and len(sys.argv) == 3:
        watch(Path(sys.argv[2]))
