"""The admin page for a bank's staff, served under ``/admin/`` by the admin
server next to the JSON API: prompts (edit, hear, publish, revert), the flow
diagram, live calls, the consultant queues, the audit trail, users, reports.
Server-rendered HTML, Polish text.

    auth.py      login, sessions, CSRF, roles and tenants in front of every page
    accounts.py  users (scrypt) and sessions in the state store
    html.py      the one layout and small builders; every outside value escaped
    flow_versions.py  a bank's flow versions as JSON (list, diff, drafts, publish, revert)
    scenario.py  the Scenariusz page (diagram, side panel, drafts, publish): scenario_*.py
    prompts.py   flow.py  audit.py  live.py  queues.py  users.py  reports.py   one per page
    tenants.py   the banks, where each came from; a new bank (deployment admins)
    recordings.py  consultant calls' recordings (auditors)
    charts.py    periods.py   the reports page's SVG charts and its periods
    events.py    server-sent events for the pages that stay current
    test_call.py the test call from the flow page (WebRTC softphone, transcript)
    static/      that page's script and the vendored softphone library (SIP.js)
"""

from aiohttp import web

from stasis_app.admin.prompts import PromptAdmin
from stasis_app.admin.web.accounts import Accounts
from stasis_app.admin.web.audit import AuditPages
from stasis_app.admin.web.auth import Gate
from stasis_app.admin.web.flow import FlowPages
from stasis_app.admin.web.flow_versions import FlowVersionRoutes
from stasis_app.admin.web.live import LivePages
from stasis_app.admin.web.prompts import PromptPages
from stasis_app.admin.web.queues import QueuePages
from stasis_app.admin.web.recordings import RecordingPages
from stasis_app.admin.web.reports import ReportPages
from stasis_app.admin.web.scenario import ScenarioPages
from stasis_app.admin.web.tenants import BankSite, TenantPages
from stasis_app.admin.web.test_call import TestCallPages, websocket_url
from stasis_app.admin.web.users import UserPages
from stasis_app.flow.test_calls import TestCalls
from stasis_app.flow.versions import FlowVersions
from stasis_app.queue.manager import QueueManager
from stasis_app.telephony.live_calls import CallRegistry

PREFIX = "/admin/"


def admin_pages(
    prompts: PromptAdmin,
    calls: CallRegistry,
    accounts: Accounts | None = None,
    queues: QueueManager | None = None,
    behind_https_proxy: bool = False,
    every: float = 1.0,
    flows: FlowVersions | None = None,
    banks: BankSite | None = None,
    test_calls: TestCalls | None = None,
    webrtc_url: str = websocket_url(None, "http://127.0.0.1:8088/"),
) -> web.Application:
    """The pages as an aiohttp application, to mount at :data:`PREFIX`;
    live pages look for changes (and re-check the session) every ``every`` seconds;
    ``test_calls`` are the app's (it runs them), reached by the browser at ``webrtc_url``."""
    accounts = accounts or Accounts(prompts.store)
    gate = Gate(accounts, behind_https_proxy)
    app = web.Application(middlewares=[gate.middleware])
    gate.add_login_routes(app)
    PromptPages(prompts).routes(app, gate)
    flows = flows or FlowVersions(prompts.store)  # the app passes its own (what it serves)
    FlowPages(prompts, flows).routes(app, gate)
    FlowVersionRoutes(prompts, flows).routes(app, gate)
    ScenarioPages(prompts, flows).routes(app, gate)
    TestCallPages(prompts, flows, test_calls or TestCalls(), webrtc_url).routes(app, gate)
    AuditPages(prompts.store).routes(app, gate)
    ReportPages(prompts).routes(app, gate)
    RecordingPages(prompts).routes(app, gate)
    LivePages(calls, every).routes(app, gate)
    if queues is not None:
        QueuePages(queues, every).routes(app, gate)
    UserPages(accounts, prompts.tenants).routes(app, gate)  # tenants read anew after a reload
    if banks is not None:  # the running app's (new banks from the page: stasis_app/tenancy)
        TenantPages(prompts, banks).routes(app, gate)
    return app
