"""What can go wrong when the bank's core system is asked to do something.

The whole tree::

    AdapterError            the operation did not happen
    ├── Unavailable         the core system cannot be reached or failed (retry later)
    │   └── Timeout         it did not answer within the configured time
    ├── Refused             it answered "no": wrong PIN, locked, card already closed...
    └── NotFound            no such customer, card or account

Adapters raise these (or anything else: the core turns any other exception
into ``Unavailable``). Messages never contain PINs or dates of birth.
"""


class AdapterError(Exception):
    """The core-banking operation did not happen."""


class Unavailable(AdapterError):
    """The core system cannot be reached or failed; the caller may try later."""


class Timeout(Unavailable):
    """The core system did not answer in time."""


class CircuitOpen(Unavailable):
    """The core system was not asked at all: it failed just before and its
    circuit breaker is open (so the request provably never left the app)."""


class Refused(AdapterError):
    """The core system refused the operation (e.g. wrong credentials, locked)."""


class NotFound(AdapterError):
    """The customer, card or account does not exist."""
