"""Prometheus metrics of a running line, served at ``/metrics`` on the admin
HTTP server (without a token: Prometheus scrapes it).

Labels carry only the tenant id and fixed words (a call's outcome), never a
caller's number, a customer number, a key or a prompt text, so the page
holds nothing confidential. Each app has its own registry (tests build many).

    infolinia_calls_total{tenant, outcome}      calls ended, by how they ended
    infolinia_active_calls{tenant}              calls in progress
    infolinia_calls_over_limit_total            calls handed back to the dialplan
                                                because ari.max_calls were in progress
    infolinia_call_records_failed_total         call records the state store did not take
    infolinia_key_to_prompt_seconds{tenant}     a key reaching the app -> Asterisk
                                                started the next prompt
    infolinia_key_to_prompt_by_wait_seconds{tenant, waited_on}
                                                the same, by what the call waited on
                                                in between (nothing, bank, audit, store
                                                or several: stasis_app/telephony/key_waits.py)
    infolinia_key_to_prompt_app_seconds{tenant} the same less the wait for the bank:
                                                the app's own share
    infolinia_ari_requests_total{method, operation}
                                                ARI requests sent (a retry is one more)
    infolinia_ari_requests_sent_total{transport}
                                                ... over the events websocket or HTTP
    infolinia_ari_events_total{type}            ARI events received
    infolinia_ari_event_bytes_total{type}       ... their size (JSON characters)
    infolinia_queue_*                           the consultant queues
                                                (stasis_app.queue.metrics)
    process_*                                   the app process's CPU and memory
    infolinia_node_info{node}                   which node this is (a cluster's; settings.node)
"""

from collections.abc import Callable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from stasis_app.queue.metrics import QueueMetrics
from stasis_app.telephony.ari_traffic import AriTraffic
from stasis_app.telephony.key_waits import KeyWaits

# The tenant label of a call to a number no tenant has.
NO_TENANT = "none"
# Fine below 100 ms, where the target (p99 < 50 ms) lies; coarse above.
KEY_TO_PROMPT_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.02,
    0.03,
    0.04,
    0.05,
    0.075,
    0.1,
    0.15,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)

Observer = Callable[[float, KeyWaits], None]


class AppMetrics:
    """The figures of one app process, in their own registry."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, node: str | None = None) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        if node is not None:  # infolinia_node_info{node="..."} 1: join on it across nodes
            Info("infolinia_node", "The node this app serves", registry=self.registry).info(
                {"node": node}
            )
        self.calls = Counter(
            "infolinia_calls",
            "Calls ended, by tenant and outcome",
            ("tenant", "outcome"),
            registry=self.registry,
        )
        self.active = Gauge(
            "infolinia_active_calls",
            "Calls in progress",
            ("tenant",),
            registry=self.registry,
        )
        self.over_limit = Counter(
            "infolinia_calls_over_limit",
            "Calls handed back to the dialplan because ari.max_calls were in progress",
            registry=self.registry,
        )
        self.records_failed = Counter(
            "infolinia_call_records_failed",
            "Call records not written: the state store did not take them (the call was unharmed)",
            registry=self.registry,
        )
        self.key_to_prompt = Histogram(
            "infolinia_key_to_prompt_seconds",
            "From a key reaching the app to Asterisk starting the next prompt",
            ("tenant",),
            buckets=KEY_TO_PROMPT_BUCKETS,
            registry=self.registry,
        )
        self.key_to_prompt_by_wait = Histogram(
            "infolinia_key_to_prompt_by_wait_seconds",
            "Key to next prompt, by what the call waited on in between",
            ("tenant", "waited_on"),
            buckets=KEY_TO_PROMPT_BUCKETS,
            registry=self.registry,
        )
        self.key_to_prompt_app = Histogram(
            "infolinia_key_to_prompt_app_seconds",
            "Key to next prompt, less the wait for the bank: the app's own share",
            ("tenant",),
            buckets=KEY_TO_PROMPT_BUCKETS,
            registry=self.registry,
        )
        self.queues = QueueMetrics(self.registry)

    def watch_ari(self, traffic: AriTraffic) -> None:
        """Expose the counts of ARI requests and events in ``traffic``."""
        self.registry.register(_AriCollector(traffic))

    def call_started(self, tenant: str | None) -> Observer:
        """Count a call in; returns the observer of its key-to-prompt latency."""
        label = tenant or NO_TENANT
        self.active.labels(label).inc()
        whole = self.key_to_prompt.labels(label)
        app = self.key_to_prompt_app.labels(label)

        def observe(seconds: float, waits: KeyWaits) -> None:
            whole.observe(seconds)
            app.observe(waits.app_share(seconds))
            self.key_to_prompt_by_wait.labels(label, waits.label()).observe(seconds)

        return observe

    def call_ended(self, tenant: str | None, outcome: str) -> None:
        label = tenant or NO_TENANT
        self.active.labels(label).dec()
        self.calls.labels(label, outcome.replace(" ", "_")).inc()

    def render(self) -> bytes:
        """The text exposition format Prometheus scrapes."""
        return generate_latest(self.registry)


class _AriCollector(Collector):
    """The counters of :class:`AriTraffic`, read at each scrape."""

    def __init__(self, traffic: AriTraffic) -> None:
        self.traffic = traffic

    def collect(self) -> Iterator[CounterMetricFamily]:
        traffic = self.traffic
        requests = CounterMetricFamily(
            "infolinia_ari_requests", "ARI requests sent", labels=("method", "operation")
        )
        for (method, operation), count in sorted(traffic.requests.items()):
            requests.add_metric((method, operation), count)
        sent = CounterMetricFamily(
            "infolinia_ari_requests_sent", "ARI requests, by how they went", labels=("transport",)
        )
        for transport, count in sorted(traffic.transports.items()):
            sent.add_metric((transport,), count)
        events = CounterMetricFamily(
            "infolinia_ari_events", "ARI events received", labels=("type",)
        )
        size = CounterMetricFamily(
            "infolinia_ari_event_bytes", "Size of the ARI events received", labels=("type",)
        )
        for kind, count in sorted(traffic.events.items()):
            events.add_metric((kind,), count)
            size.add_metric((kind,), traffic.event_bytes[kind])
        yield from (requests, sent, events, size)
