"""The queue's figures on ``/metrics`` (labels: tenant, queue, fixed words).

infolinia_queue_exits_total{tenant, queue, outcome}   every way out, counted
infolinia_queue_waiting{tenant, queue}                callers waiting now
infolinia_queue_wait_seconds{tenant, queue}           time in the queue, by exit
infolinia_queue_announcement_drift_seconds{tenant}    an announcement's start
                                                      after its schedule
infolinia_queue_dispatch_seconds{tenant}              an agent free (or a caller
                                                      arriving) -> that agent rung
"""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

FINE = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
WAIT = (5, 15, 30, 60, 120, 300, 600, 1200, 3600)


class QueueMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        registry = registry or CollectorRegistry()
        self._exits = Counter(
            "infolinia_queue_exits",
            "Callers leaving a consultant queue, by how",
            ("tenant", "queue", "outcome"),
            registry=registry,
        )
        self._waiting = Gauge(
            "infolinia_queue_waiting", "Callers waiting", ("tenant", "queue"), registry=registry
        )
        self._wait = Histogram(
            "infolinia_queue_wait_seconds",
            "Seconds in the queue",
            ("tenant", "queue"),
            buckets=WAIT,
            registry=registry,
        )
        self._drift = Histogram(
            "infolinia_queue_announcement_drift_seconds",
            "How late an announcement started against its schedule",
            ("tenant",),
            buckets=FINE,
            registry=registry,
        )
        self._dispatch = Histogram(
            "infolinia_queue_dispatch_seconds",
            "From an agent being free for a waiting caller to that agent being rung",
            ("tenant",),
            buckets=FINE,
            registry=registry,
        )

    def exited(self, tenant: str, queue: str, outcome: str, waited: float) -> None:
        self._exits.labels(tenant, queue, outcome).inc()
        self._wait.labels(tenant, queue).observe(waited)

    def waiting(self, tenant: str, queue: str, count: int) -> None:
        self._waiting.labels(tenant, queue).set(count)

    def announced(self, tenant: str, drift: float) -> None:
        self._drift.labels(tenant).observe(max(0.0, drift))

    def dispatched(self, tenant: str, queue: str, seconds: float) -> None:
        self._dispatch.labels(tenant).observe(max(0.0, seconds))
