"""A bank's flow as versions in the state store (stasis_app/flow/versions.py),
on SQLite and PostgreSQL: the file is version 1, drafts are checked by the
app's own flow checker, publishing is one atomic step that the other nodes
take within a look, calls in progress keep their flow, reverts and publishes
are audited."""

import json
from pathlib import Path

import pytest
import yaml

from stasis_app.config import load_settings
from stasis_app.deployment import Deployment, build_deployment
from stasis_app.flow.model import flow_hash
from stasis_app.flow.versions import (
    DRAFT,
    PUBLISHED,
    RETIRED,
    FlowRejected,
    FlowVersions,
    StaleVersion,
    VersionError,
)
from stasis_app.safeguards.audit import AuditLog
from stasis_app.safeguards.audit_key import AuditKey
from stasis_app.store import Store
from tests.conftest import TEST_CONFIG
from tests.support.standalone_config import standalone_config
from tests.support.stores import tampering

pytestmark = pytest.mark.unit

ECHO = (TEST_CONFIG.parent / "flows" / "echo.yaml").read_text()
WEBHOOK = (TEST_CONFIG.parent / "flows" / "webhook.yaml").read_text()
# The echo flow with its read-back saying another (existing) prompt.
CHANGED = ECHO.replace("prompt: [you_entered,", "prompt: [invalid_choice,")
# ... and one the checker refuses: its read-back plays a prompt that does not exist.
BROKEN = ECHO.replace("prompt: [you_entered,", "prompt: [no_such_prompt,")
KEY = AuditKey(b"test audit key for flow versions only!!!", "test")


def deployment_on(tmp_path: Path, where: Path | str) -> Deployment:
    """Two banks on their own copies of the echo flow, state in ``where``."""
    tenants = {}
    for bank, line in (("alfa", "107"), ("beta", "108")):
        flow = tmp_path / f"{bank}.yaml"
        if not flow.exists():
            flow.write_text(ECHO)
        tenants[bank] = {
            "name": bank,
            "lines": [line],
            "flow": str(flow),
            "adapter": {
                "name": "demo",
                "settings": {"database": str(tmp_path / "b.sqlite"), "tenant": bank},
            },
        }
    config = tmp_path / "infolinia.yaml"
    raw = {**standalone_config(tmp_path, tenants=tenants), "state": str(where)}
    config.write_text(yaml.safe_dump(raw, allow_unicode=True))
    settings = load_settings(config, env={}, resolve_secrets=False)
    return build_deployment(settings, with_adapters=False)


@pytest.fixture
def store(state_where: Path | str) -> Store:
    return Store(state_where)


@pytest.fixture
def flows(store: Store) -> FlowVersions:
    return FlowVersions(store, AuditLog(store, KEY))


def audited(store: Store, action: str) -> list[tuple[str, str]]:
    entries = AuditLog(store, KEY).entries()
    return [(entry.result, entry.detail) for entry in entries if entry.action == action]


def test_the_file_is_version_one_and_a_changed_file_follows_the_rules(
    tmp_path: Path, store: Store, flows: FlowVersions
) -> None:
    deployment = deployment_on(tmp_path, store.where)
    flows.live = flows.prepare(deployment)
    (first,) = flows.history("alfa")
    assert (first.number, first.state, first.hash) == (1, PUBLISHED, flow_hash(ECHO))
    assert first.origin == f"file:{tmp_path / 'alfa.yaml'}"
    assert first.hash == deployment.tenants["alfa"].flow.version  # as call records carry it
    assert flows.live["alfa"].version is not None and flows.live["alfa"].version.number == 1

    # A restart with the same file: nothing new.
    assert flows.seed(deployment_on(tmp_path, store.where)) == {}

    # The operator edits the file while the live version is the file's: published.
    (tmp_path / "alfa.yaml").write_text(CHANGED)
    again = deployment_on(tmp_path, store.where)
    assert flows.seed(again) == {"alfa": PUBLISHED}
    assert [(v.number, v.state) for v in flows.history("alfa")] == [(2, PUBLISHED), (1, RETIRED)]

    # Once someone published through the store, a changed file waits as a draft.
    draft = flows.save_draft("alfa", ECHO + "# by hand\n", "anna", again.check_flow)
    flows.publish("alfa", draft.number, "anna", again.check_flow)
    (tmp_path / "alfa.yaml").write_text(CHANGED + "# edited again\n")
    assert flows.seed(deployment_on(tmp_path, store.where)) == {"alfa": DRAFT}
    live = flows.published("alfa")
    assert live is not None and live.number == draft.number  # the store wins

    # A node with an older copy of the file (a text seen before) changes nothing.
    (tmp_path / "alfa.yaml").write_text(ECHO)
    assert flows.seed(deployment_on(tmp_path, store.where)) == {}
    assert flows.published("alfa") == live


def test_a_draft_with_a_problem_is_kept_but_never_published(
    tmp_path: Path, store: Store, flows: FlowVersions
) -> None:
    deployment = deployment_on(tmp_path, store.where)
    flows.live = flows.prepare(deployment)
    draft = flows.save_draft("alfa", BROKEN, "anna", deployment.check_flow, comment="nowy")
    assert draft.state == DRAFT and draft.problem is not None
    assert draft.problem.state == "read_back"
    assert draft.problem.field == "states.read_back.params"
    assert "no_such_prompt" in draft.problem.problem

    with pytest.raises(FlowRejected) as refused:
        flows.publish("alfa", draft.number, "anna", deployment.check_flow)
    assert refused.value.problem == draft.problem
    live = flows.published("alfa")
    assert live is not None and live.number == 1  # the live flow stays
    ((result, detail),) = audited(store, "flow_publish")
    assert result == "refused" and '"field": "states.read_back.params"' in detail

    # Broken YAML is a problem too, not a crash; an empty text is refused outright.
    bad_yaml = flows.save_draft("alfa", "states: [", "anna", deployment.check_flow)
    assert bad_yaml.problem is not None and "not valid YAML" in bad_yaml.problem.problem
    with pytest.raises(VersionError):
        flows.save_draft("alfa", "  \n", "anna", deployment.check_flow)


def test_a_version_calls_only_the_webservices_of_the_banks_flow_file(
    tmp_path: Path, store: Store, flows: FlowVersions
) -> None:
    """Publishing from the page must not let a bank's admin send callers'
    values (a telekod gathered without ``secret``) to a server of their
    choosing, nor sign requests with another variable of the node's
    environment: a version's webhook states call only what the file calls."""
    (tmp_path / "alfa.yaml").write_text(WEBHOOK)  # the bank's file calls its webservice
    deployment = deployment_on(tmp_path, store.where)
    flows.live = flows.prepare(deployment)
    same = flows.save_draft(
        "alfa", WEBHOOK + "# the same webservice\n", "anna", deployment.check_flow
    )
    assert same.problem is None
    for changed in (
        WEBHOOK.replace("http://127.0.0.1:18765/infolinia", "https://collector.invalid/x"),
        WEBHOOK.replace("INFOLINIA_TEST_WEBHOOK_SECRET", "INFOLINIA_AUDIT_KEY"),
    ):
        draft = flows.save_draft("alfa", changed, "anna", deployment.check_flow)
        assert draft.problem is not None, changed
        assert draft.problem.field == "states.ask_bank.params.url"
        assert "flow file" in draft.problem.problem
        with pytest.raises(FlowRejected):
            flows.publish("alfa", draft.number, "anna", deployment.check_flow)
    live = flows.published("alfa")
    assert live is not None and live.number == 1


def test_publish_is_one_step_and_revert_publishes_an_old_text_anew(
    tmp_path: Path, store: Store, flows: FlowVersions
) -> None:
    deployment = deployment_on(tmp_path, store.where)
    flows.live = flows.prepare(deployment)
    draft = flows.save_draft("alfa", CHANGED, "anna", deployment.check_flow, comment="3: info")
    assert draft.problem is None and draft.based_on == 1
    published = flows.publish("alfa", draft.number, "ewa", deployment.check_flow)
    assert (published.state, published.published_by) == (PUBLISHED, "ewa")
    assert [(v.number, v.state) for v in flows.history("alfa")] == [(2, PUBLISHED), (1, RETIRED)]
    # The other bank is untouched.
    assert [(v.number, v.state) for v in flows.history("beta")] == [(1, PUBLISHED)]

    # Publishing it again, or a retired version, is refused: revert instead.
    for number in (2, 1):
        with pytest.raises(VersionError):
            flows.publish("alfa", number, "ewa", deployment.check_flow)

    reverted = flows.revert("alfa", 1, "ewa", deployment.check_flow)
    assert (reverted.number, reverted.state, reverted.origin) == (3, PUBLISHED, "revert:1")
    assert reverted.hash == flow_hash(ECHO)
    assert flows.get("alfa", 3).text == ECHO
    assert [v.state for v in flows.history("alfa")] == [PUBLISHED, RETIRED, RETIRED]
    assert audited(store, "flow_publish")[0][0] == "ok"
    ((result, detail),) = audited(store, "flow_revert")
    assert result == "ok"
    assert '"version": 3' in detail and f'"hash": "{flow_hash(ECHO)}"' in detail
    assert '"user": "ewa"' in detail and '"reverted_to": 1' in detail

    # The store itself allows one live version per bank.
    with pytest.raises(Exception), tampering(store) as db:  # noqa: B017 (either engine's error)
        db.execute("UPDATE flow_versions SET state = 'published' WHERE tenant = 'alfa'")


def test_a_draft_changed_meanwhile_is_not_overwritten(
    tmp_path: Path, store: Store, flows: FlowVersions
) -> None:
    deployment = deployment_on(tmp_path, store.where)
    flows.prepare(deployment)
    draft = flows.save_draft("alfa", CHANGED, "anna", deployment.check_flow)
    changed = flows.update_draft(
        "alfa", draft.number, CHANGED + "# 2\n", "ewa", deployment.check_flow,
        expected_hash=draft.hash,
    )  # fmt: skip
    assert (changed.number, changed.author, changed.text) == (2, "ewa", CHANGED + "# 2\n")
    with pytest.raises(StaleVersion):  # anna still has the first text open
        flows.update_draft(
            "alfa", draft.number, CHANGED + "# 3\n", "anna", deployment.check_flow,
            expected_hash=draft.hash,
        )  # fmt: skip
    with pytest.raises(StaleVersion):
        flows.publish("alfa", draft.number, "anna", deployment.check_flow, draft.hash)


def test_diff_against_the_live_version_names_the_states(
    tmp_path: Path, store: Store, flows: FlowVersions
) -> None:
    deployment = deployment_on(tmp_path, store.where)
    flows.prepare(deployment)
    raw = yaml.safe_load(ECHO.replace("on: ", "on_: "))  # (plain YAML: 'on' stays a word)
    raw["states"]["ask"]["on_"]["failed"] = "sorry"
    raw["states"]["sorry"] = {"verb": "hangup", "params": {"prompt": ["apology"]}}
    del raw["states"]["read_back"]
    raw["states"]["ask"]["on_"]["done"] = "goodbye"
    text = yaml.safe_dump(raw).replace("on_:", "on:")
    draft = flows.save_draft("alfa", text, "anna", deployment.check_flow)
    assert draft.problem is None, draft.problem
    diff = flows.diff("alfa", 1, draft.number)
    assert (diff.added, diff.removed, diff.changed) == (["sorry"], ["read_back"], ["ask"])
    assert diff.unified.startswith("--- version 1\n+++ version 2\n")
    assert "+  sorry:" in diff.unified


async def test_another_node_takes_a_publish_and_calls_in_progress_keep_theirs(
    tmp_path: Path, store: Store, flows: FlowVersions
) -> None:
    node_a = deployment_on(tmp_path, store.where)
    node_b = deployment_on(tmp_path, store.where)
    flows.live = flows.prepare(node_a)
    other = FlowVersions(Store(store.where), AuditLog(store, KEY))
    other.live = other.prepare(node_b)
    in_progress = node_b.tenants["alfa"].flow  # what a call on node B started with

    draft = flows.save_draft("alfa", CHANGED, "anna", node_a.check_flow)
    flows.publish("alfa", draft.number, "anna", node_a.check_flow)
    assert await other.refresh(node_b) == ["alfa"]
    assert node_b.tenants["alfa"].flow.version == flow_hash(CHANGED)  # the next call's
    assert node_b.lines["107"].flow.version == flow_hash(CHANGED)
    assert in_progress.version == flow_hash(ECHO)  # the call's own, unchanged
    read_back = in_progress.states["read_back"]
    assert "you_entered" in read_back.verb.prompts(read_back.params)
    assert await other.refresh(node_b) == []  # nothing new: one read, no swap

    # A node restarting later serves the store's live version, not its file.
    restarted = deployment_on(tmp_path, store.where)
    live = FlowVersions(store).prepare(restarted)
    assert restarted.tenants["alfa"].flow.version == flow_hash(CHANGED)
    assert live["alfa"].version is not None and live["alfa"].version.number == 2
    assert restarted.tenants["beta"].flow.version == flow_hash(ECHO)


def test_the_command_line_imports_publishes_shows_and_reverts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from stasis_app.cli import main

    monkeypatch.setenv("INFOLINIA_AUDIT_KEY", "ab" * 32)
    store_file = tmp_path / "state" / "state.sqlite"
    deployment_on(tmp_path, store_file)  # writes the config and the flow files
    config = ["--config", str(tmp_path / "infolinia.yaml"), "flow"]
    (tmp_path / "new.yaml").write_text(CHANGED)
    (tmp_path / "broken.yaml").write_text(BROKEN)

    def run(*args: str) -> tuple[int, str, str]:
        code = main([*config, *args])
        out, err = capsys.readouterr()
        return code, out, err

    assert run("import", "alfa", str(tmp_path / "new.yaml"), "--comment", "inny", "--as", "anna")[
        :2
    ] == (0, f"alfa: draft 2 saved ({flow_hash(CHANGED)}); checked: ok\n")
    code, out, _ = run("diff", "alfa")
    assert (
        code == 0 and "-      prompt: [you_entered," in out and "# states changed: read_back" in out
    )
    assert run("publish", "alfa", "--as", "ewa")[:2] == (
        0,
        f"alfa: version 2 is live ({flow_hash(CHANGED)})\n",
    )

    code, _, err = run("import", "alfa", str(tmp_path / "broken.yaml"))
    assert code == 2 and "draft 3 saved with a problem" in err and "(state read_back)" in err
    code, _, err = run("publish", "alfa")
    assert code == 2 and "version 3 cannot be published" in err and "nothing changed" in err

    assert run("revert", "alfa", "--version", "1")[0] == 0
    code, out, _ = run("history", "alfa", "--json")
    versions = [(v["number"], v["state"], v["origin"]) for v in json.loads(out)["versions"]]
    assert versions == [
        (4, PUBLISHED, "revert:1"),
        (3, DRAFT, "import"),
        (2, RETIRED, "import"),
        (1, RETIRED, f"file:{tmp_path / 'alfa.yaml'}"),
    ]
    assert run("export", "alfa")[1] == ECHO
    assert run("export", "alfa", "--version", "2", "--out", str(tmp_path / "v2.yaml"))[0] == 0
    assert (tmp_path / "v2.yaml").read_text() == CHANGED
    assert run("history", "nobody")[0] == 2
    actions = [(e.action, e.result) for e in AuditLog(Store(store_file)).entries()]
    assert actions == [("flow_publish", "ok"), ("flow_publish", "refused"), ("flow_revert", "ok")]


async def test_the_app_keeps_the_published_version_across_a_reload(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stasis_app.app import InfoliniaApp

    monkeypatch.setenv("INFOLINIA_AUDIT_KEY", "cd" * 32)
    monkeypatch.setenv("INFOLINIA_ARI_PASSWORD", "x")  # read again by the reload
    deployment_on(tmp_path, tmp_path / "state" / "state.sqlite")  # the config and flow files
    config = tmp_path / "infolinia.yaml"
    app = InfoliniaApp(load_settings(config))
    assert app.flows.live["alfa"].version is not None  # version 1, the file's
    check = app.deployment.check_flow
    draft = app.flows.save_draft("alfa", CHANGED, "anna", check)
    app.flows.publish("alfa", draft.number, "anna", check)  # as another node would
    assert await app.flows.refresh(app.deployment) == ["alfa"]

    assert await app.reload()  # the file is unchanged: the store's version stays live
    assert app.deployment.tenants["alfa"].flow.version == flow_hash(CHANGED)
    (tmp_path / "alfa.yaml").write_text(ECHO + "# edited\n")
    caplog.set_level("WARNING")
    assert await app.reload()  # a changed file now waits as a draft
    assert app.deployment.tenants["alfa"].flow.version == flow_hash(CHANGED)
    assert app.flows.newest_draft("alfa").hash == flow_hash(ECHO + "# edited\n")  # type: ignore[union-attr]
    assert any("the file waits as a draft" in r.getMessage() for r in caplog.records)
