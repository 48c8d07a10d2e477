"""The test config's prompts and state, in a test's own folder: a
PromptAdmin whose edits, recordings and renders touch nothing shared."""

from pathlib import Path

from stasis_app.admin.prompts import PromptAdmin
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from stasis_app.store import Store
from tests.conftest import TEST_CONFIG


def isolated_env(folder: Path) -> dict[str, str]:
    """Environment overrides that put the state store and prompts under ``folder``."""
    return {
        "INFOLINIA_STATE": str(folder / "state.sqlite"),
        "INFOLINIA_PROMPT_DIR": str(folder / "prompts"),
        "INFOLINIA_AUDIT_HEADS_FILE": str(folder / "audit-heads.log"),
    }


def isolated_prompt_admin(folder: Path) -> PromptAdmin:
    settings = load_settings(TEST_CONFIG, env=isolated_env(folder), resolve_secrets=False)
    return PromptAdmin(build_deployment(settings, with_adapters=False), Store(settings.state))
