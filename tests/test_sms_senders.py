"""The SMS sender hook and the demo outbox sender."""

import asyncio
import stat
from pathlib import Path
from typing import Any

import pytest

from adapters.errors import Unavailable
from adapters.hookspecs import hookimpl
from adapters.sms import Sms, SmsSender, SmsSenderFactory, SmsSenderRegistry, SmsSetupError
from adapters.sms_outbox import OutboxSender, OutboxSettings, read_outbox
from plugin.manager import get_plugin_manager
from plugin.registry import SetupError

pytestmark = pytest.mark.unit


def test_the_demo_outbox_is_a_registered_sender() -> None:
    registry = SmsSenderRegistry(get_plugin_manager(env={}))
    assert "demo-outbox" in registry.names()
    [described] = [d for d in registry.describe() if d.name == "demo-outbox"]
    assert described.plugin == "infolinia-builtin"


def test_a_plugin_registers_its_gateway_and_a_bank_names_it(tmp_path: Path) -> None:
    sent: list[Sms] = []

    class Gateway:
        def __init__(self, settings: Any) -> None:
            self.settings = settings

        async def send(self, sms: Sms) -> None:
            sent.append(sms)

        async def close(self) -> None:
            return None

    class Plugin:
        @hookimpl
        def infolinia_register_sms_senders(self) -> list[SmsSenderFactory]:
            return [SmsSenderFactory("mybank-sms", OutboxSettings, Gateway, "our operator")]

    manager = get_plugin_manager(env={})
    manager.register(Plugin(), name="mybank")
    registry = SmsSenderRegistry(manager)
    sender = registry.create("mybank-sms", {"outbox": str(tmp_path / "x")})
    assert isinstance(sender, SmsSender)
    asyncio.run(sender.send(Sms("izbica", "12345678", "kod")))
    assert sent == [Sms("izbica", "12345678", "kod")]
    with pytest.raises(SmsSetupError, match="no SMS sender named 'nope'"):
        registry.create("nope", {})
    with pytest.raises(SetupError) as bad:
        registry.create("mybank-sms", {"outbx": "/tmp/x"})
    assert bad.value.field.startswith("settings.")


def test_the_outbox_keeps_each_message_in_a_file_only_its_owner_reads(tmp_path: Path) -> None:
    outbox = tmp_path / "var" / "sms-outbox.jsonl"
    sender = OutboxSender(OutboxSettings(outbox=outbox))

    async def send_two() -> None:
        await sender.send(Sms("izbica", "12345678", "Kod 123456", phone="+48500100200"))
        await sender.send(Sms("cieszyn", "87654321", "Kod 654321"))
        await sender.close()

    asyncio.run(send_two())
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o600
    first, second = read_outbox(outbox)
    assert (first["tenant"], first["customer"], first["text"], first["phone"]) == (
        "izbica",
        "12345678",
        "Kod 123456",
        "+48500100200",
    )
    assert (second["customer"], second["phone"]) == ("87654321", None)
    assert read_outbox(tmp_path / "none.jsonl") == []


def test_an_outbox_made_readable_by_others_is_closed_again(tmp_path: Path) -> None:
    outbox = tmp_path / "sms.jsonl"
    outbox.write_text("")
    outbox.chmod(0o644)
    asyncio.run(OutboxSender(OutboxSettings(outbox=outbox)).send(Sms("t", "1", "x")))
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o600


def test_an_outbox_that_cannot_be_written_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    sender = OutboxSender(OutboxSettings(outbox=blocker / "sms.jsonl"))  # a file as the folder
    with pytest.raises(Unavailable) as raised:
        asyncio.run(sender.send(Sms("t", "1", "Kod 424242")))
    assert "424242" not in str(raised.value)


def test_a_message_shows_no_text_or_phone_in_its_repr() -> None:
    sms = Sms("izbica", "12345678", "Kod 987123", phone="+48500100200")
    assert "987123" not in repr(sms) and "500100200" not in repr(sms)


def test_demo_bank_sms_shows_the_outbox(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    import yaml

    from stasis_app.cli import main

    outbox = tmp_path / "sms.jsonl"
    config = tmp_path / "infolinia.yaml"
    flow = Path(__file__).resolve().parent.parent / "config" / "flows" / "bank.yaml"
    bank = {"name": "demo", "settings": {"database": str(tmp_path / "d.sqlite"), "tenant": "a"}}
    sms = {"sender": "demo-outbox", "settings": {"outbox": str(outbox)}}
    config.write_text(
        yaml.safe_dump(
            {
                "tenants": {
                    "a": {
                        "name": "A",
                        "lines": ["1"],
                        "flow": str(flow),
                        "adapter": bank,
                        "sms": sms,
                    },
                    "b": {"name": "B", "lines": ["2"], "flow": str(flow), "adapter": bank},
                }
            }
        )
    )

    async def send() -> None:
        sender = OutboxSender(OutboxSettings(outbox=outbox))
        await sender.send(Sms("a", "12345678", "A: kod 111222 potwierdza przelew"))
        await sender.send(Sms("a", "87654321", "A: kod 333444 potwierdza przelew"))

    asyncio.run(send())
    assert main(["--config", str(config), "demo-bank", "sms"]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert [line.split(" ", 1)[1] for line in shown] == [
        "a 12345678: A: kod 111222 potwierdza przelew",
        "a 87654321: A: kod 333444 potwierdza przelew",
    ]
    assert main(["--config", str(config), "demo-bank", "sms", "a", "87654321", "--json"]) == 0
    [message] = json.loads(capsys.readouterr().out)
    assert message["text"] == "A: kod 333444 potwierdza przelew"
    assert main(["--config", str(config), "demo-bank", "sms", "b"]) == 2
    assert "no demo-outbox SMS sender b" in capsys.readouterr().err
