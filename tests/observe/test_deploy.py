"""deploy/: Kubernetes manifests, the systemd unit, the Grafana dashboard and the Prometheus files, checked by parsing."""

from __future__ import annotations

import configparser
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.observe.scrape import names, total, wait_for

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S = DEPLOY / "kubernetes"
WORKLOADS = {"Deployment", "DaemonSet", "StatefulSet"}
PERSISTENT = {"persistentVolumeClaim", "hostPath"}
DRAIN_TIMEOUT = 30
METRIC = re.compile(r"\bs3d_[a-z0-9_]+\b")
# the metrics the dashboard must show (issue 6)
REQUIRED = {
    "s3d_requests_total", "s3d_request_duration_seconds_bucket", "s3d_received_bytes_total", "s3d_sent_bytes_total",
    "s3d_journal_lsn", "s3d_remote_hwm", "s3d_queue_pending_records", "s3d_queue_pending_bytes",
    "s3d_queue_oldest_age_seconds", "s3d_queue_failed_records", "s3d_remote_errors_total", "s3d_remote_requests_total",
    "s3d_cache_bytes", "s3d_cache_capacity_bytes", "s3d_cache_hits_total", "s3d_cache_misses_total",
    "s3d_cache_evictions_total", "s3d_dirty_bytes", "s3d_pinned_bytes", "s3d_disk_free_bytes", "s3d_remote_up",
}  # fmt: skip


def documents(path: Path) -> list[dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    for d in docs:
        assert isinstance(d, dict), path
        assert d.get("apiVersion") and d.get("kind"), (path, d)
        assert isinstance(d.get("metadata"), dict) and d["metadata"].get("name"), (path, d.get("kind"))
    return docs


def flag(args: list[str], name: str) -> str:
    assert name in args, args
    return args[args.index(name) + 1]


def check_s3d_container(c: dict[str, Any]) -> str:
    """Probes on the right paths and port, listening where the kubelet can reach it; returns the data dir."""
    args = c.get("args") or c.get("command") or []
    data = flag(args, "--data")
    host, _, port = flag(args, "--listen").rpartition(":")
    assert host == "0.0.0.0", "probes come from the kubelet to the pod's IP"
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports.get("s3d") == int(port)
    for probe, path in (
        ("livenessProbe", "/_s3d/health"),
        ("readinessProbe", "/_s3d/ready"),
        ("startupProbe", "/_s3d/health"),
    ):
        get = c[probe]["httpGet"]
        assert get["path"] == path, (probe, get)
        assert get["port"] in ("s3d", int(port)), (probe, get)
    assert {"secretRef": {"name": "s3d-credentials"}} in c.get("envFrom", [])
    return data


def pod_volumes(workload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    vols = {v["name"]: v for v in workload["spec"]["template"]["spec"].get("volumes", [])}
    for t in workload["spec"].get("volumeClaimTemplates", []):
        vols[t["metadata"]["name"]] = {"name": t["metadata"]["name"], "volumeClaimTemplate": t}
    return vols


@pytest.mark.parametrize(
    "name, kind", [("sidecar.yaml", "Deployment"), ("daemonset.yaml", "DaemonSet"), ("fleet.yaml", "StatefulSet")]
)
def test_kubernetes_manifests(name: str, kind: str) -> None:
    docs = documents(K8S / name)
    secret = documents(K8S / "secret.example.yaml")[0]
    assert secret["kind"] == "Secret" and secret["metadata"]["name"] == "s3d-credentials"
    assert {"S3D_ACCESS_KEY", "S3D_SECRET_KEY"} <= set(secret["stringData"])
    workloads = [d for d in docs if d["kind"] in WORKLOADS]
    assert [w["kind"] for w in workloads] == [kind]
    w = workloads[0]
    pod = w["spec"]["template"]["spec"]
    labels = w["spec"]["template"]["metadata"]["labels"]
    assert w["spec"]["selector"]["matchLabels"].items() <= labels.items()
    annotations = w["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/path"] == "/metrics"
    assert pod["terminationGracePeriodSeconds"] > DRAIN_TIMEOUT
    containers = [c for c in pod.get("containers", []) + pod.get("initContainers", []) if c["name"] == "s3d"]
    assert len(containers) == 1
    c = containers[0]
    if kind == "Deployment":  # the sidecar: beside an application container, started first, stopped last
        assert c in pod["initContainers"] and c["restartPolicy"] == "Always"
        assert [a["name"] for a in pod["containers"]] == ["app"]
        assert w["spec"]["replicas"] == 1 and w["spec"]["strategy"]["type"] == "Recreate"
    data = check_s3d_container(c)
    mounts = [m for m in c["volumeMounts"] if m["mountPath"] == data]
    assert len(mounts) == 1, c["volumeMounts"]
    volume = pod_volumes(w)[mounts[0]["name"]]
    if "persistentVolumeClaim" in volume:
        claim = volume["persistentVolumeClaim"]["claimName"]
        assert any(d["kind"] == "PersistentVolumeClaim" and d["metadata"]["name"] == claim for d in docs)
    else:
        assert "volumeClaimTemplate" in volume or "hostPath" in volume, volume
    for svc in (d for d in docs if d["kind"] == "Service"):
        assert svc["spec"]["selector"].items() <= labels.items(), svc["metadata"]["name"]
        assert all(p["targetPort"] in ("s3d", c["ports"][0]["containerPort"]) for p in svc["spec"]["ports"])
    if kind == "DaemonSet":
        assert any(d["kind"] == "Service" and d["spec"].get("internalTrafficPolicy") == "Local" for d in docs)
    if kind == "StatefulSet":
        assert any(d["kind"] == "Service" and d["metadata"]["name"] == w["spec"]["serviceName"] for d in docs)


def test_systemd_unit() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string((DEPLOY / "systemd" / "s3d.service").read_text())
    svc = unit["Service"]
    args = svc["ExecStart"].split()
    assert args[1:2] == ["run"]
    assert flag(args, "--data") == "/var/lib/" + svc["StateDirectory"]
    assert svc["KillMode"] == "mixed" and int(svc["TimeoutStopSec"]) > DRAIN_TIMEOUT
    assert svc["User"] != "root"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def dashboard_exprs() -> list[str]:
    dash = json.loads((DEPLOY / "grafana" / "s3d-dashboard.json").read_text())
    panels = [p for p in dash["panels"] if p["type"] != "row"]
    assert len({p["id"] for p in dash["panels"]}) == len(dash["panels"])
    exprs = []
    for p in panels:
        assert p["title"] and p["gridPos"]["w"] > 0 and p["targets"], p["title"]
        assert p["datasource"]["uid"] == "${datasource}"
        for t in p["targets"]:
            assert t["refId"] and METRIC.search(t["expr"]), (p["title"], t)
            exprs.append(t["expr"])
    variables = {v["name"] for v in dash["templating"]["list"]}
    assert {"datasource", "instance"} <= variables
    return exprs


def alert_exprs() -> list[str]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "s3d-alerts.yml").read_text())
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    assert "s3d-alerts.yml" in scrape["rule_files"]
    assert all(j["metrics_path"] == "/metrics" for j in scrape["scrape_configs"] if "metrics_path" in j)
    return [r["expr"] for g in rules["groups"] for r in g["rules"]]


def test_dashboard_and_alerts_use_only_exported_metrics(rclone_gateway) -> None:  # type: ignore[no-untyped-def]
    used_dashboard = {m for e in dashboard_exprs() for m in METRIC.findall(e)}
    used_alerts = {m for e in alert_exprs() for m in METRIC.findall(e)}
    assert REQUIRED <= used_dashboard, REQUIRED - used_dashboard
    gw = rclone_gateway
    s3 = gw.client()
    s3.create_bucket(Bucket="dash")
    s3.put_object(Bucket="dash", Key="k", Body=b"v")
    s3.get_object(Bucket="dash", Key="k")["Body"].read()
    gw.flush()
    gw.remote.stop()  # so that remote errors are counted (a labelled counter appears at its first increment)
    s3.put_object(Bucket="dash", Key="k2", Body=b"v")
    live = wait_for(gw.s3d.endpoint, lambda s: total(s, "s3d_remote_errors_total") > 0)
    gw.remote.start()  # (so the daemon drains at once when it stops)
    exported = names(live)
    assert not (used_dashboard - exported), used_dashboard - exported
    assert not (used_alerts - exported), used_alerts - exported
