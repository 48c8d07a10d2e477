"""Static checks of the cluster's compose file (docker/cluster.yaml; no Docker
engine runs here): the files it builds from exist, Kamailio renders the same
template as the local cluster, and every node is a pair (Asterisk, app)
that shares a prompt folder and is known to Kamailio by the same name and
address."""

import re
from pathlib import Path

import pytest
import yaml

from devtools import cluster_node, kamailio
from stasis_app.config import VoiceSettings
from tests.test_docker import copy_sources

pytestmark = pytest.mark.unit

DOCKER = Path(__file__).resolve().parent.parent / "docker"
COMPOSE = yaml.safe_load((DOCKER / "cluster.yaml").read_text())
SERVICES = COMPOSE["services"]
KAMAILIO = DOCKER / "kamailio"


def nodes() -> dict[str, str]:
    """Kamailio's nodes: name -> host:port."""
    pairs = SERVICES["kamailio"]["environment"]["INFOLINIA_NODES"].split(",")
    return dict(pair.split("=", 1) for pair in pairs)


def address(service: str) -> str:
    return str(SERVICES[service]["networks"]["default"]["ipv4_address"])


@pytest.mark.parametrize("service", sorted(s for s in SERVICES if "build" in SERVICES[s]))
def test_every_built_service_references_files_that_exist(service: str) -> None:
    build = SERVICES[service]["build"]
    context = (DOCKER / build["context"]).resolve()
    dockerfile = context / build["dockerfile"]
    assert dockerfile.is_file(), dockerfile
    for source in copy_sources(dockerfile):
        assert (context / source).exists(), f"{dockerfile}: COPY {source} is missing"


def test_kamailio_renders_the_template_the_local_cluster_renders() -> None:
    assert KAMAILIO / "kamailio.cfg" == kamailio.KAMAILIO_TEMPLATE
    assert "kamailio.cfg" in copy_sources(KAMAILIO / "Dockerfile")
    entrypoint = (KAMAILIO / "entrypoint.sh").read_text()
    names = set(re.findall(r"\{\{(\w+)\}\}", kamailio.KAMAILIO_TEMPLATE.read_text()))
    rendered = set(re.findall(r"s#\{\{(\w+)\}\}#", entrypoint))
    assert names == rendered


def test_each_node_is_an_asterisk_and_an_app_sharing_a_prompt_folder() -> None:
    prompts = str(VoiceSettings().cache_dir)
    apps = {s["environment"]["INFOLINIA_NODE"]: s for n, s in SERVICES.items() if "app" in n}
    asterisks = {
        s["environment"]["INFOLINIA_NODE"]: (n, s) for n, s in SERVICES.items() if "asterisk" in n
    }
    assert sorted(apps) == sorted(asterisks) == sorted(nodes()) == ["node1", "node2"]
    for node, app in apps.items():
        name, asterisk = asterisks[node]
        env = app["environment"]
        assert env["INFOLINIA_ARI_URL"] == f"http://{name}:8088/"
        # Kamailio's dispatcher, the app's registration and Asterisk's address agree.
        assert env["INFOLINIA_CLUSTER_CONTACT"] == nodes()[node] == f"{address(name)}:5060"
        assert env["INFOLINIA_CLUSTER_PROXY"] == "kamailio:5060"
        assert asterisk["environment"]["INFOLINIA_SIP_PROXY"] == address("kamailio")
        shared = {m.split(":")[0] for m in app["volumes"] if m.split(":")[1] == prompts}
        theirs = {m.split(":")[0] for m in asterisk["volumes"] if m.split(":")[1] == prompts}
        assert shared == theirs and len(shared) == 1, (app["volumes"], asterisk["volumes"])
    # Each node its own prompt folder (each renders into its own Asterisk's).
    assert len({m for s in apps.values() for m in s["volumes"] if prompts in m}) == 2


def test_the_apps_share_postgresql_and_no_password_is_in_the_file() -> None:
    for name, service in SERVICES.items():
        for key, value in (service.get("environment") or {}).items():
            if "PASSWORD" in key:
                assert str(value).startswith("${") and ":?" in str(value), (name, key)
            assert not re.search(r"://[^/@]*:[^/@]*@", str(value)), (name, key)
    states = {s["environment"]["INFOLINIA_STATE"] for n, s in SERVICES.items() if "app" in n}
    assert len(states) == 1 and states.pop().startswith("postgresql://")


def test_the_asterisk_entrypoint_writes_the_node_files_the_config_includes() -> None:
    entrypoint = (DOCKER / "asterisk" / "entrypoint.sh").read_text()
    for name in ("asterisk_node.conf", "pjsip_proxy.conf"):
        assert name in entrypoint
    assert "asterisk_node.conf" in Path(cluster_node.__file__).read_text()
