"""Static checks of the Grafana dashboard and its Prometheus (no Docker
engine, no Grafana runs here): the compose serves both with the files that
exist, Prometheus scrapes the app's /metrics where the app serves it, every
panel reads the provisioned Prometheus, and every query names metrics the
app really exposes, with labels (and histogram bounds) those metrics have."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics_core import Metric

from stasis_app.config import AdminSettings
from stasis_app.metrics import AppMetrics

pytestmark = pytest.mark.unit

DOCKER = Path(__file__).resolve().parent.parent / "docker"
COMPOSE = yaml.safe_load((DOCKER / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
DASHBOARD = DOCKER / "grafana" / "dashboards" / "infolinia.json"
# Labels Prometheus adds to every series it scrapes.
SCRAPE_LABELS = {"instance", "job"}
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "info": ("_info",),
}


def touched() -> AppMetrics:
    """The app's metrics with every figure touched once, so each holds a series."""
    metrics = AppMetrics(node="n1")
    metrics.call_started("izbica")
    metrics.call_ended("izbica", "caller hung up")
    metrics.over_limit.inc()
    metrics.records_failed.inc()
    metrics.queues.exited("izbica", "main", "answered", 12.0)
    metrics.queues.waiting("izbica", "main", 1)
    metrics.queues.announced("izbica", 0.01)
    metrics.queues.dispatched("izbica", "main", 0.01)
    return metrics


def exposed() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Each series name the app's /metrics can hold -> its labels (every
    metric of :class:`AppMetrics`, named by its type), and each histogram's
    bucket bounds (``le``) by its ``_bucket`` series."""
    families: list[Metric] = list(touched().registry.collect())
    names: dict[str, set[str]] = {}
    bounds: dict[str, set[str]] = {}
    for family in families:
        for suffix in SUFFIXES.get(family.type, ("",)):
            names.setdefault(family.name + suffix, set())
        for sample in family.samples:
            names.setdefault(sample.name, set()).update(sample.labels)
            if "le" in sample.labels:
                bounds.setdefault(sample.name, set()).add(sample.labels["le"])
    return names, bounds


def volume(service: str, target: str) -> Path:
    """The host path ``service`` mounts at ``target``."""
    for mount in SERVICES[service]["volumes"]:
        source, inside, *_ = mount.split(":")
        if inside == target:
            return (DOCKER / str(source)).resolve()
    raise AssertionError(f"{service} mounts nothing at {target}")


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for panel in dashboard["panels"]:
        found += [panel, *panel.get("panels", [])]  # a row's panels
    return found


def queries(dashboard: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for p in panels(dashboard) for t in p.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            exprs.append(variable["query"]["query"])
    return exprs


def test_compose_serves_prometheus_and_grafana_with_files_that_exist() -> None:
    config = volume("prometheus", "/etc/prometheus/prometheus.yml")
    assert config.is_file()
    provisioning = volume("grafana", "/etc/grafana/provisioning")
    assert (provisioning / "datasources").is_dir() and (provisioning / "dashboards").is_dir()
    dashboards = volume("grafana", "/etc/grafana/dashboards")
    assert DASHBOARD.parent == dashboards and DASHBOARD.is_file()
    home = SERVICES["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == "/etc/grafana/dashboards/" + DASHBOARD.name
    # Like the admin page: on the host's loopback only, and no default password.
    for service in ("prometheus", "grafana"):
        assert all(port.startswith("127.0.0.1:") for port in SERVICES[service]["ports"])
        assert ":" in SERVICES[service]["image"]  # a pinned version, not "latest"
    assert SERVICES["grafana"]["environment"]["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    [provider] = yaml.safe_load((provisioning / "dashboards" / "infolinia.yaml").read_text())[
        "providers"
    ]
    assert provider["options"]["path"] == "/etc/grafana/dashboards"


def test_prometheus_scrapes_the_apps_metrics_where_the_app_serves_them() -> None:
    config = yaml.safe_load(volume("prometheus", "/etc/prometheus/prometheus.yml").read_text())
    [job] = config["scrape_configs"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    [target] = [t for group in job["static_configs"] for t in group["targets"]]
    host, port = target.split(":")
    assert host == "app" and host in SERVICES
    assert int(port) == AdminSettings().port  # the app's admin server, /metrics on it
    assert SERVICES["app"]["environment"]["INFOLINIA_ADMIN_LISTEN"] == "0.0.0.0"


def test_every_panel_reads_the_provisioned_prometheus() -> None:
    [source] = yaml.safe_load(
        (DOCKER / "grafana" / "provisioning" / "datasources" / "prometheus.yaml").read_text()
    )["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090" and "prometheus" in SERVICES
    dashboard = json.loads(DASHBOARD.read_text())
    wanted = {"type": "prometheus", "uid": source["uid"]}
    for panel in panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == wanted, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target.get("datasource", wanted) == wanted, panel["title"]
    for variable in dashboard["templating"]["list"]:
        assert variable["datasource"] == wanted, variable["name"]
    ids = [p["id"] for p in panels(dashboard)]
    assert len(ids) == len(set(ids))


SELECTOR = re.compile(r"\b([a-z_:][a-z0-9_:]*)\s*\{([^}]*)\}")
MATCHER = re.compile(r'(\w+)\s*(?:=~|!~|!=|=)\s*"([^"]*)"')
GROUPING = re.compile(r"\b(?:by|on|group_left|group_right|without|ignoring)\s*\(([^)]*)\)")


def test_every_query_names_metrics_and_labels_the_app_exposes() -> None:
    known, bounds = exposed()
    labels = set().union(*known.values()) | SCRAPE_LABELS
    for expr in queries(json.loads(DASHBOARD.read_text())):
        names = re.findall(r"\b(?:infolinia|process)_\w+", expr)
        assert names, f"no metric of the app in {expr!r}"
        for name in names:
            assert name in known, f"{name} (in {expr!r}) is not on the app's /metrics"
        for name, matchers in SELECTOR.findall(expr):
            for label, value in MATCHER.findall(matchers):
                assert label in known[name] | SCRAPE_LABELS, f"{name} has no label {label}"
                if label == "le":
                    assert value in bounds[name], f"{name} has no bucket le={value}"
        for grouped in GROUPING.findall(expr):
            for label in filter(None, (part.strip() for part in grouped.split(","))):
                assert label in labels | {"le"}, f"no metric has the label {label} ({expr!r})"
