"""What one call did, gathered while it runs, for its call record: the
flow's states in order with the time spent in each, the operations asked of
the bank and their outcomes, the consultant queues it went through (wait,
outcome, the consultant who answered) and a transfer to the dialplan's
consultant route, and a survey's score (stasis_app/queue/survey.py).

The flow engine, the ``operation`` and ``transfer`` verbs and the queue's
caller write here (one call each); the app turns it into a
:class:`~stasis_app.reports.records.CallRecord` when the call ends. Nothing
about the caller or the customer is kept (no number, no keys typed).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Queue outcomes after which the caller talked to a consultant.
ANSWERED = "answered"
# Operation outcomes that count as done (the caller got what they asked
# for: a block confirmed or journaled, a list heard, even an empty one).
DONE = frozenset({"ok", "empty", "registered"})


@dataclass(frozen=True)
class QueueVisit:
    """One time the call came to a consultant queue."""

    queue: str
    outcome: str  # answered, abandoned, callback, timed_out, closed, no_agents, failed, ...
    wait: float | None  # seconds in the queue; None: never joined (closed, no agents)
    agent: str = ""  # the consultant's endpoint when answered
    entered: float | None = None  # seconds into the call when it came to the queue
    # Waiting-time announcements (place, estimated wait) the caller heard to
    # their end, or cut short with a key, while waiting in this queue.
    announcements: int = 0


@dataclass
class CallTrail:
    """Written by the call's own task only (no locking)."""

    clock: Callable[[], float] = time.monotonic
    started: float = 0.0  # monotonic; set by __post_init__
    states: list[tuple[str, float]] = field(default_factory=list)  # (state, entered)
    operations: list[tuple[str, str]] = field(default_factory=list)  # (kind, outcome)
    queues: list[QueueVisit] = field(default_factory=list)
    transferred: bool = False  # handed to the dialplan's consultant route
    language: str = "pl"  # the caller's language (the ``language`` verb sets another)
    # The caller's answer to the survey after a consultant call
    # (stasis_app/queue/survey.py, through :meth:`surveyed`); None: no score given.
    survey_score: int | None = None

    def __post_init__(self) -> None:
        self.started = self.clock()

    def entered(self, state: str) -> None:
        """The flow went into ``state`` (the previous one ends now)."""
        self.states.append((state, self.clock()))

    def operation(self, kind: str, outcome: str) -> None:
        self.operations.append((kind, outcome))

    def seconds(self) -> float:
        """Seconds since the call started."""
        return round(self.clock() - self.started, 1)

    def queued(self, visit: QueueVisit) -> None:
        self.queues.append(visit)

    def surveyed(self, score: int) -> None:
        """The caller gave ``score`` in a satisfaction survey."""
        self.survey_score = score

    def to_consultant_route(self) -> None:
        self.transferred = True

    @property
    def reached_consultant(self) -> bool:
        return self.transferred or any(v.outcome == ANSWERED for v in self.queues)

    def steps(self, ended: float | None = None) -> list[tuple[str, float]]:
        """The states in order with the seconds spent in each (the last one
        until ``ended``, monotonic; default now)."""
        if not self.states:  # hung up before the flow's first state
            return []
        end = self.clock() if ended is None else ended
        times = [entered for _, entered in self.states[1:]] + [end]
        return [
            (name, round(max(0.0, leaving - entered), 3))
            for (name, entered), leaving in zip(self.states, times, strict=True)
        ]
