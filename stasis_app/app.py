"""The infolinia application: render prompts, connect to Asterisk, serve calls.

Every call runs in its own task behind a catch-all: whatever goes wrong, the
caller hears an apology and a clean hangup (or was transferred), never silence.
"""

import asyncio
import contextlib
import logging
import signal
import time
from functools import partial

from aiohttp import web

from stasis_app.admin.api import AdminApi
from stasis_app.admin.api import serve as serve_admin
from stasis_app.admin.prompts import PromptAdmin
from stasis_app.admin.web import admin_pages
from stasis_app.admin.web.tenants import BankSite
from stasis_app.admin.web.test_call import websocket_url
from stasis_app.config import Settings, load_settings
from stasis_app.deployment import Deployment, ServedTenant, build_deployment
from stasis_app.errors import AriError, AriUnavailable, CallHungUp, ConfigError
from stasis_app.flow.context import CallContext
from stasis_app.flow.engine import run_flow
from stasis_app.flow.model import Flow
from stasis_app.flow.notice import recording_notice
from stasis_app.flow.test_calls import TestCall, TestCalls, is_test_line
from stasis_app.flow.versions import FlowVersions, LiveFlow
from stasis_app.metrics import AppMetrics
from stasis_app.queue.manager import QueueManager
from stasis_app.queue.recordings import drain as drain_recordings
from stasis_app.reports.records import CallRecords, from_trail
from stasis_app.reports.trail import CallTrail
from stasis_app.safeguards import Safeguards
from stasis_app.safeguards.audit_heads import AuditHeads
from stasis_app.safeguards.audit_key import AuditKeyError
from stasis_app.safeguards.blocks import JournalWorker
from stasis_app.store import Store
from stasis_app.telephony.call import Call
from stasis_app.telephony.gateway import AriGateway, ChannelHandle
from stasis_app.telephony.live_calls import CallRegistry, CallsBoard
from stasis_app.telephony.presence import Presence
from stasis_app.telephony.proxy_phones import ProxyPhones, proxy_phone
from stasis_app.tenancy.stored import FOLLOW_EVERY as BANKS_EVERY
from stasis_app.tenancy.stored import StoredTenant, TenantStore, build_serving, log_left_out

log = logging.getLogger(__name__)

# Settings read once, at start, by what runs for the whole process (the ARI
# connection, the admin server, the state store, the audit heads, logging).
# A reload keeps their running values and names the ones that changed.
RESTART_ONLY = ("ari", "admin", "state", "audit", "log_level", "node", "cluster")


# Within live sections, the settings read once at start (the journal's worker
# drains one spool: a new folder would be written and never drained).
RESTART_ONLY_FIELDS = (("security", "spool_dir"),)


def waiting_for_restart(running: Settings, loaded: Settings) -> list[str]:
    """The restart-only settings that ``loaded`` changes from ``running``."""
    changed = [name for name in RESTART_ONLY if getattr(loaded, name) != getattr(running, name)]
    for section, field in RESTART_ONLY_FIELDS:
        if getattr(getattr(loaded, section), field) != getattr(getattr(running, section), field):
            changed.append(f"{section}.{field}")
    return changed


def keep_running(running: Settings, loaded: Settings) -> Settings:
    """``loaded`` with the running values of every restart-only setting."""
    kept = {name: getattr(running, name) for name in RESTART_ONLY}
    for section, field in RESTART_ONLY_FIELDS:
        part = kept.get(section, getattr(loaded, section))
        kept[section] = part.model_copy(update={field: getattr(getattr(running, section), field)})
    return loaded.model_copy(update=kept)


class InfoliniaApp:
    """Ties settings, tenants and the ARI gateway together."""

    def __init__(self, settings: Settings, deployment: Deployment | None = None) -> None:
        store = Store(settings.state)
        # Banks added on the admin page live in the store beside the file's
        # (stasis_app/tenancy): the file's settings are kept to merge them again.
        self.file_settings = settings
        self.banks = TenantStore(store)
        self.left_out: dict[str, str] = {}  # stored banks this node cannot serve: why
        stored = self.banks.all()
        self._bank_revisions = {bank.id: bank.revision for bank in stored}
        self._adopting = asyncio.Lock()
        if deployment is None:
            settings, deployment, self.left_out = build_serving(settings, stored)
            log_left_out(self.left_out)
        self.settings = settings
        self.deployment = deployment
        self.metrics = AppMetrics(node=settings.node)
        self.gateway = AriGateway(
            settings.ari,
            self.handle_call,
            on_full=self.metrics.over_limit.inc,
            phones=ProxyPhones(settings.cluster),
            uncounted=is_test_line,  # capped by TestCalls (MAX_AT_ONCE per bank)
        )
        self.metrics.watch_ari(self.gateway.traffic)
        self.calls_served = 0
        # Calls in progress, for the admin page's live view (every node's: the board).
        self.calls = CallRegistry(node=settings.node)
        self.prompt_admin = PromptAdmin(self.deployment, store)
        self.board = CallsBoard(store, self.calls)
        # A record of every call, for the bank's reports (stasis_app/reports).
        self.records = CallRecords(store, on_failed=self.metrics.records_failed.inc)
        self._retired: list[Deployment] = []  # replaced by a reload
        self.safeguards = Safeguards.on(store, settings.security)
        # Signed heads of the audit trail, outside the store (stasis_app/safeguards/audit_heads.py).
        self.audit_heads = AuditHeads(self.safeguards.audit, settings.audit)
        # Each bank's flow as versions in the store (stasis_app/flow/versions.py).
        self.flows = FlowVersions(store, self.safeguards.audit)
        self.prompt_admin.own_prompts()  # a published version may play them
        self.flows.live = self.flows.prepare(self.deployment)
        # Test calls from the admin page, each on the flow version it names.
        self.test_calls = TestCalls()
        self.queues = QueueManager(self.gateway, store, self.metrics.queues)
        self.queues.configure(self.deployment.queue_tenants())
        self._say_unreachable_phones(self.deployment)
        self.journal_worker = JournalWorker(
            self.safeguards.journal,
            self.safeguards.audit,
            lambda tenant: served.bank if (served := self.deployment.tenants.get(tenant)) else None,
            every=settings.security.journal_retry_seconds,
            spool=self.safeguards.blocks.spool,
        )

    def _say_unreachable_phones(self, deployment: Deployment) -> None:
        """A queue's ``Proxy/<name>`` phone needs a cluster's SIP proxy: on a
        single node it is never logged in, which the operator must hear of."""
        if self.settings.cluster is not None:
            return
        for tenant, _ in deployment.queue_tenants():
            for queue, settings in tenant.queues.items():
                for agent in settings.agents:
                    if proxy_phone(agent) is not None:
                        log.warning(
                            "a consultant's phone at the cluster's SIP proxy, but this node "
                            "is in no cluster: it counts as logged out",
                            extra={"tenant": tenant.id, "queue": queue, "agent": agent},
                        )

    async def reload(self) -> bool:
        """Read the config file again (SIGHUP). A file that does not load, or
        whose flows, prompts or adapters do not check, changes nothing: the
        line keeps its running config and the log names the file and field.
        A good one is rendered first, then new calls get it; calls in
        progress finish on the old one. Settings in :data:`RESTART_ONLY`
        keep their running values: the log names those that changed."""
        async with self._adopting:  # one swap at a time (the store's banks too)
            return await self._reload()

    async def _reload(self) -> bool:
        path = self.settings.source
        try:
            from_file = await asyncio.to_thread(load_settings, path)
            stored = await self.banks.store.run(self.banks.all)
            settings, deployment, left_out = await asyncio.to_thread(
                build_serving, from_file, stored, self._build
            )
            await asyncio.to_thread(PromptAdmin(deployment, self.prompt_admin.store).own_prompts)
            live_flows = await asyncio.to_thread(self.flows.prepare, deployment)
        except ConfigError as exc:
            log.error(
                "config reload refused; the line keeps its running config",
                extra={"file": exc.file, "field": exc.field, "problem": exc.problem},
            )
            return False
        except Exception as exc:  # a plugin failing to load, say
            log.error(
                "config reload refused; the line keeps its running config",
                extra={"file": str(path), "error": type(exc).__name__},
            )
            return False
        waiting = waiting_for_restart(self.settings, settings)
        if waiting:  # the running values stay (below)
            log.warning(
                "these settings change only at the next restart", extra={"settings": waiting}
            )
        log_left_out(left_out)
        self.file_settings = keep_running(self.file_settings, from_file)
        await self._serve_deployment(settings, deployment, live_flows, stored, left_out)
        log.info("config reloaded", extra={"file": str(path), "lines": sorted(deployment.lines)})
        return True

    async def adopt_banks(self) -> bool:
        """Serve the banks of the store as they are now (a bank added or
        changed on the admin page, here or on another node): the file's
        settings as running, with the store's banks, built and checked as at
        start; every prompt rendered before the new deployment takes a call
        (the numbers of a new bank open only then); calls in progress finish
        on the old one. False, and the running banks stay, when it does not
        build (the log says why)."""
        async with self._adopting:
            try:
                stored = await self.banks.store.run(self.banks.all)
                if {b.id: b.revision for b in stored} == self._bank_revisions:
                    return False  # taken already (by the page's own request, say)
                settings, deployment, left_out = await asyncio.to_thread(
                    build_serving, self.file_settings, stored, self._build
                )
                await asyncio.to_thread(
                    PromptAdmin(deployment, self.prompt_admin.store).own_prompts
                )
                live_flows = await asyncio.to_thread(self.flows.prepare, deployment)
            except Exception as exc:  # a file bank failing: that is the file's, for a reload
                log.error(
                    "the store's banks could not be taken; the running banks stay",
                    extra={"error": f"{type(exc).__name__}: {exc}"},
                )
                return False
            new = sorted(set(deployment.tenants) - set(self.deployment.tenants))
            log_left_out({k: v for k, v in left_out.items() if k not in self.left_out})
            await self._serve_deployment(settings, deployment, live_flows, stored, left_out)
            log.info(
                "banks of the store taken",
                extra={"new": new, "lines": sorted(deployment.lines), "left_out": sorted(left_out)},
            )
            return True

    def _build(self, settings: Settings) -> Deployment:
        """The next deployment, keeping which TTS engines are down (said once)."""
        return build_deployment(settings, health=self.deployment.health)

    async def _follow_banks(self, every: float = BANKS_EVERY) -> None:
        """Banks added or changed in the store (through any node's admin
        page) are served here within a look (one read of a small table)."""
        while True:
            await asyncio.sleep(every)
            try:
                revisions = await self.banks.store.run(self.banks.revisions)
                if revisions != self._bank_revisions:
                    await self.adopt_banks()
            except Exception:  # the store is down: the next look tries again
                log.warning("the store's banks could not be looked at", exc_info=True)

    async def _serve_deployment(
        self,
        settings: Settings,
        deployment: Deployment,
        live_flows: dict[str, LiveFlow],
        stored: list[StoredTenant],
        left_out: dict[str, str],
    ) -> None:
        """Render ``deployment``'s prompts, then let it take new calls."""
        staged = PromptAdmin(deployment, self.prompt_admin.store)
        staged.load_stored()
        for book in deployment.all_books():
            await book.render_all()
        self._retired.append(self.deployment)  # its adapters serve calls in progress
        self.deployment = deployment
        self.flows.live = live_flows
        self.queues.configure(deployment.queue_tenants())  # callers waiting stay where they are
        self._say_unreachable_phones(deployment)
        self.prompt_admin.take_over(staged)  # the admin API edits the new books
        self.settings = keep_running(self.settings, settings)
        security = self.settings.security
        self.safeguards = Safeguards.on(staged.store, security, self.safeguards.in_flight)
        self.journal_worker.every = security.journal_retry_seconds  # from its next round
        self._bank_revisions = {bank.id: bank.revision for bank in stored}
        self.left_out = left_out

    async def _start_admin(self) -> web.AppRunner | None:
        admin = self.settings.admin
        if not admin.enabled:
            return None
        if admin.listen not in ("127.0.0.1", "::1", "localhost"):
            log.warning("admin API listens beyond this machine", extra={"listen": admin.listen})
        api = AdminApi(
            self.prompt_admin,
            self.metrics,
            admin_pages(
                self.prompt_admin,
                self.calls,
                queues=self.queues,
                behind_https_proxy=admin.behind_https_proxy,
                flows=self.flows,
                banks=BankSite(
                    self.banks,
                    lambda: self.file_settings,
                    lambda: self.left_out,
                    self.adopt_banks,
                ),
                test_calls=self.test_calls,
                webrtc_url=websocket_url(admin.webrtc_url, self.settings.ari.url),
            ),
            queues=self.queues,
        )
        return await serve_admin(api, admin.listen, admin.port)

    async def _follow_prompt_edits(self, every: float = 1.0) -> None:
        """Edits made by another process (``infolinia prompts set``) go live here."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.prompt_admin.sync()
            except Exception:  # a locked database or a failed render: try again later
                log.exception("prompt edits could not be applied yet")

    async def _share_calls(self, every: float = 2.0) -> None:
        """This node's calls to the store, the other nodes' from it (the live page)."""
        while True:
            try:
                await self.board.exchange()
            except Exception:  # the store is down: the page shows older figures meanwhile
                log.warning("calls in progress could not be shared", exc_info=True)
            await asyncio.sleep(every)

    async def _delete_old_records(self, every: float = 3600.0) -> None:
        """Each bank's call records older than its ``records.keep_days``, its
        consultant recordings older than ``recordings.keep_days``, and the
        login guard's attempts no window looks at, deleted hourly."""
        while True:
            for served in list(self.deployment.tenants.values()):
                tenant = served.tenant
                try:
                    deleted = await self.records.store.run(
                        partial(self.records.delete_older, tenant.id, tenant.records.keep_days)
                    )
                except Exception as exc:  # the store is down: the next round deletes them
                    log.warning(
                        "old call records not deleted yet",
                        extra={"tenant": tenant.id, "error": type(exc).__name__},
                    )
                    continue
                if deleted:
                    log.info(
                        "old call records deleted", extra={"tenant": tenant.id, "records": deleted}
                    )
                # Its consultant recordings past recordings.keep_days (files too).
                try:
                    await self.records.store.run(
                        partial(
                            self.queues.recordings.delete_expired,
                            tenant.id,
                            tenant.recordings.keep_days,
                        )
                    )
                except Exception as exc:  # the store is down: the next round deletes them
                    log.warning(
                        "expired recordings not deleted yet",
                        extra={"tenant": tenant.id, "error": type(exc).__name__},
                    )
            # Calling numbers the login guard no longer needs, of every bank.
            with contextlib.suppress(Exception):  # the store is down: next round
                await self.records.store.run(self.safeguards.guard.forget_old)
            await asyncio.sleep(every)

    def _keep_record(
        self,
        handle: ChannelHandle,
        served: ServedTenant,
        flow: Flow,
        trail: CallTrail,
        outcome: str,
    ) -> None:
        """The call's record, written in the background (never delays the caller)."""
        try:
            record = from_trail(
                trail,
                tenant=served.tenant.id,
                line=handle.line,
                node=self.settings.node,
                # A call picked up again after a reconnect, or back from the
                # dialplan on another line, starts a flow over: a record of its
                # own beside the first part's (same channel).
                call_id=f"{handle.channel_id}~{int(time.time())}"
                if handle.resumed or handle.returned
                else handle.channel_id,
                flow=flow.source.name,
                flow_version=flow.version,
                outcome=outcome,
            )
        except Exception:  # a record is never worth a failed call
            self.metrics.records_failed.inc()
            log.exception("call record could not be made")
            return
        self.records.keep(record)

    async def serve(self) -> None:
        """Render every prompt of every tenant, then serve calls until SIGINT or SIGTERM."""
        try:  # a missing or wrong audit key stops the start, before any call
            await asyncio.to_thread(self.audit_heads.start)
        except AuditKeyError as exc:
            raise ConfigError(str(self.settings.source), "audit.key_file", exc.problem) from None
        edited = self.prompt_admin.load_stored()
        if edited:
            log.info("prompt edits loaded", extra={"prompts": edited})
        for book in self.deployment.all_books():
            await book.render_all()
        self.deployment.live.forget_all()
        admin = await self._start_admin()
        edits = asyncio.create_task(self._follow_prompt_edits(), name="prompt-edits")
        journal = asyncio.create_task(self.journal_worker.run(), name="block-journal")
        heads = asyncio.create_task(self.audit_heads.run(), name="audit-heads")
        # A cluster's node: registered at Kamailio while it takes calls (docs/scaling.md).
        presence = asyncio.create_task(self._presence(), name="cluster-presence")
        board = asyncio.create_task(self._share_calls(), name="calls-board")
        retention = asyncio.create_task(self._delete_old_records(), name="call-records-retention")
        # Publishes made through another node or the command line (docs/flows.md).
        flows = asyncio.create_task(
            self.flows.follow(lambda: self.deployment), name="flow-versions"
        )
        # Banks added on the admin page, through this node or another (stasis_app/tenancy).
        banks = asyncio.create_task(self._follow_banks(), name="stored-banks")
        # In the background: a long trail must not hold up the line.
        audit_check = asyncio.ensure_future(asyncio.to_thread(self.audit_heads.verify))
        pending = len(self.safeguards.journal.entries("pending"))
        if pending:
            log.warning("blocks waiting in the journal for the bank", extra={"pending": pending})
        loop = asyncio.get_running_loop()
        stopping: list[asyncio.Future[None]] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(
                sig,
                lambda: stopping.append(
                    asyncio.ensure_future(self.gateway.stop(self.settings.security.shutdown_grace))
                ),
            )
        reloads: set[asyncio.Future[bool]] = set()

        def reload_soon() -> None:
            task = asyncio.ensure_future(self.reload())
            reloads.add(task)
            task.add_done_callback(reloads.discard)

        loop.add_signal_handler(signal.SIGHUP, reload_soon)
        log.info(
            "serving",
            extra={
                "app": self.settings.ari.app,
                "ari": self.settings.ari.url,
                "lines": sorted(self.deployment.lines),
            },
        )
        await self.gateway.run()
        await asyncio.gather(*stopping)  # every call's hangup went out before we leave
        await self.queues.close()
        if self.safeguards.in_flight:  # blocks callers confirmed: let them land
            await asyncio.wait(self.safeguards.in_flight, timeout=30)
        edits.cancel()
        journal.cancel()
        heads.cancel()
        presence.cancel()
        board.cancel()
        retention.cancel()
        flows.cancel()
        banks.cancel()
        await self.records.drain()  # the last calls' records
        await drain_recordings()  # ... and their consultant recordings
        with contextlib.suppress(Exception):
            await self.board.leave()
        await asyncio.wait([audit_check], timeout=5)  # a first check of a long trail may go on
        self.audit_heads.stop()  # the last signed head, and the log's "audit head"
        if admin is not None:
            await admin.cleanup()
        for deployment in (*self._retired, self.deployment):
            for served in deployment.tenants.values():
                await served.bank.close()
                if served.sms is not None:
                    await served.sms.close()
        log.info("stopped", extra={"calls_served": self.calls_served})

    def _serving(self) -> bool:
        """Whether this app takes new calls now: ARI is up and it is not stopping."""
        return self.gateway.connected.is_set() and not self.gateway.draining

    async def _presence(self) -> None:
        """In a cluster: registered at Kamailio while serving (telephony/presence.py)."""
        if self.settings.cluster is not None:
            await Presence(self.settings.cluster, self.settings.node, self._serving).run()

    async def handle_call(self, handle: ChannelHandle) -> None:
        """Run one call from StasisStart to hangup; never leave the caller in silence."""
        served = self.deployment.lines.get(handle.line)
        # The call keeps the flow it started with: a publish meanwhile is for the next call.
        flow = served.flow if served else None
        test: TestCall | None = None
        if is_test_line(handle.line):  # the admin page's: its own version of the flow
            test = self.test_calls.take(handle.line)
            served = self.deployment.tenants.get(test.tenant) if test else None
            flow = test.flow if test else None
            if test is None or served is None:
                # Unanswered, no prompt: a stranger on the WebRTC endpoint learns nothing.
                log.warning("test call refused: an unknown, used or late token, or too many")
                if test is not None:  # its bank is gone
                    test.ended(self.test_calls.clock())
                with contextlib.suppress(AriError, CallHungUp):
                    await self.gateway.hangup(handle.channel_id, reason="rejected")
                return
        prompts = served.prompts if served else self.deployment.default_prompts
        tenant = served.tenant.id if served else None
        key_to_prompt = self.metrics.call_started(tenant)
        books = served.books if served else None  # the bank's other languages
        call = Call(handle, self.gateway, prompts, self.deployment.live, key_to_prompt, books)
        log.info(
            "call started",
            extra={
                "line": "test" if is_test_line(handle.line) else handle.line,  # no token
                "tenant": tenant,
                "caller": handle.caller,
                "resumed": handle.resumed,
            },
        )
        outcome = "completed"
        state = None
        shown = self.calls.started(handle.channel_id, tenant)
        trail = CallTrail()
        try:
            await call.answer()
            if served is None or flow is None:
                outcome = "unknown line"
                await call.say(["unknown_line"])
                return
            if handle.resumed:
                await call.say(["resumed"])
            ctx = CallContext(
                call=call,
                tenant=served.tenant,
                bank=served.bank,
                sms=served.sms,
                safeguards=self.safeguards,
                queues=self.queues,
                trail=trail,
                test_call=test is not None,  # changes nothing at the bank
            )
            shown.state = lambda: ctx.state
            if test is not None:
                log.info(
                    "test call",
                    extra={"tenant": test.tenant, "version": test.version, "user": test.user},
                )
                test.answered(lambda: ctx.state)
                call.on_say = test.played
            try:
                if not handle.resumed and not handle.returned:  # once a call (RODO art. 13)
                    await recording_notice(ctx)
                state = await run_flow(flow, ctx)
            finally:
                state = ctx.state
            if call.left_app:
                outcome = "transferred"
        except CallHungUp:
            outcome = "caller hung up"
        except AriUnavailable as exc:
            outcome = "asterisk unavailable"
            log.warning("call lost its link to Asterisk", extra={"error": str(exc)})
        except asyncio.CancelledError:
            outcome = "app stopping"
            if self.gateway.closing and not call.hung_up and not call.left_app:
                # The shutdown's grace is over: the dialplan tells the caller
                # and transfers them (never a silent hangup).
                await asyncio.shield(self._hand_back(call))
            raise
        except Exception:
            outcome = "failed"
            log.exception("call failed; apologising to the caller")
            await self._apologise(call)
        finally:
            if not call.hung_up and not call.left_app:
                await asyncio.shield(self._hangup_quietly(call))
            try:  # an audit entry started for a prompt that never came
                await call.finish_after_prompt()
            except Exception:
                log.exception("work after the call's last prompt failed")
            call.stop_rendering()
            self.deployment.live.forget(call.channel_id)
            self.calls.ended(handle.channel_id)
            self.calls_served += 1
            self.metrics.call_ended(tenant, outcome)
            if test is not None:
                test.ended(self.test_calls.clock())
            elif served is not None and flow is not None:  # a test call is not the bank's
                self._keep_record(handle, served, flow, trail, outcome)
            log.info(
                "call ended",
                extra={
                    "outcome": outcome,
                    "state": state,
                    "seconds": round(time.monotonic() - call.started, 2),
                    "prompts_played": call.prompts_played,
                    # The states in order: the steps' own lines (transition,
                    # prompt, keys read) are at debug, to spare a line a step.
                    "path": [name for name, _ in trail.states],
                },
            )

    async def _apologise(self, call: Call) -> None:
        try:
            await call.say(["apology"])
        except Exception as exc:  # the apology itself failed: hang up below
            log.warning("apology could not be played", extra={"error": type(exc).__name__})

    async def _hand_back(self, call: Call) -> None:
        try:
            await self.gateway.continue_in_dialplan_after_stasis(call.channel_id)
            call.left_app = True
        except AriError as exc:
            log.warning("call could not be handed back", extra={"error": str(exc)})

    async def _hangup_quietly(self, call: Call) -> None:
        try:
            await call.hangup()
        except AriError as exc:
            log.warning("hangup failed", extra={"error": str(exc)})
