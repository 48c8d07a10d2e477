"""Static checks of the Docker files (no Docker engine runs here): every file
they reference exists, and they use the same Asterisk config, packages,
generated secret files and prompt path as the sandbox."""

import re
from pathlib import Path

import pytest
import yaml

from devtools import sandbox
from stasis_app.config import VoiceSettings
from voice import fallback

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parent.parent
DOCKER = REPO / "docker"
COMPOSE = yaml.safe_load((DOCKER / "compose.yaml").read_text())


def copy_sources(dockerfile: Path) -> list[str]:
    sources = []
    for line in dockerfile.read_text().splitlines():
        if line.startswith("COPY "):
            sources += line.split()[1:-1]
    return sources


@pytest.mark.parametrize("service", ["asterisk", "app"])
def test_compose_builds_reference_files_that_exist(service: str) -> None:
    build = COMPOSE["services"][service]["build"]
    context = (DOCKER / build["context"]).resolve()
    dockerfile = context / build["dockerfile"]
    assert dockerfile.is_file(), dockerfile
    for source in copy_sources(dockerfile):
        assert (context / source).exists(), f"{dockerfile}: COPY {source} is missing"


def test_asterisk_image_uses_the_sandbox_config_and_packages() -> None:
    dockerfile = DOCKER / "asterisk" / "Dockerfile"
    assert "etc/" in copy_sources(dockerfile)
    assert (DOCKER / "asterisk" / "etc").resolve() == sandbox.ASTERISK_CONFIG
    installed = re.search(r"--no-install-recommends ([^\\\n]+)", dockerfile.read_text())
    assert installed is not None
    assert sorted(installed.group(1).split()) == sorted(sandbox.PACKAGES)


def test_asterisk_image_carries_the_sounds_the_sandbox_installs() -> None:
    """The dialplan's Polish fallback (for when the app is not connected) is in
    the image itself: the prompt volume is the app's, empty until it has run."""
    dockerfile = (DOCKER / "asterisk" / "Dockerfile").read_text()
    copies = [line.split()[1:] for line in dockerfile.splitlines() if line.startswith("COPY ")]
    assert ["sounds/", "/" + sandbox.SOUNDS_DIR + "/"] in copies
    assert (DOCKER / "asterisk" / "sounds").resolve() == sandbox.ASTERISK_SOUNDS
    for ext in (".sln16", ".wav"):
        assert (sandbox.ASTERISK_SOUNDS / fallback.SOUND_NAME).with_suffix(ext).is_file()


def test_included_config_files_exist_or_are_generated_by_both_sandbox_and_entrypoint() -> None:
    etc = DOCKER / "asterisk" / "etc"
    entrypoint = (DOCKER / "asterisk" / "entrypoint.sh").read_text()
    sandbox_source = Path(sandbox.__file__).read_text()
    for conf in etc.glob("*.conf"):
        for kind, name in re.findall(r'^#(include|tryinclude) "([^"]+)"', conf.read_text(), re.M):
            if (etc / name).exists():
                continue
            assert name in entrypoint, (
                f"{conf.name} includes {name}; the entrypoint never writes it"
            )
            if kind == "include":  # required: the sandbox must write it too
                assert name in sandbox_source, (
                    f"{conf.name} includes {name}; the sandbox never writes it"
                )


def test_both_containers_share_the_prompt_folder_at_the_configured_path() -> None:
    path = str(VoiceSettings().cache_dir)
    for service in ("asterisk", "app"):
        mounts = COMPOSE["services"][service]["volumes"]
        assert any(m.split(":")[1] == path for m in mounts), (service, mounts)


def test_secrets_come_from_the_environment_not_the_files() -> None:
    for service in COMPOSE["services"].values():
        for name, value in service.get("environment", {}).items():
            if "PASSWORD" in name:
                assert value.startswith("${") and ":?" in value, (name, value)
    for conf in (DOCKER / "asterisk" / "etc").glob("*.conf"):
        assert not re.search(r"^\s*password\s*=", conf.read_text(), re.M), conf


def test_the_app_image_carries_every_package_the_running_line_imports() -> None:
    """The plugin core came in after the Dockerfile was written: the image
    must copy every package the app imports (the developer tools it never
    does)."""
    dockerfile = (REPO / "docker" / "Dockerfile").read_text()
    copied = {line.split()[1] for line in dockerfile.splitlines() if line.startswith("COPY ")}
    assert {"plugin", "stasis_app", "adapters", "voice"} <= copied
    assert "devtools" not in copied
