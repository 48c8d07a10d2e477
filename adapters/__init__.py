"""Core-banking adapters: the contract a bank's core system is reached
through, the adapters that ship with infolinia, and the kit that checks a
vendor's adapter.

What lives here, by what a vendor or a newcomer looks for:

* the contract: :mod:`adapters.spec` (``CoreBanking``, an async Protocol, and
  the frozen dataclasses that cross it) and :mod:`adapters.errors` (the one
  exception tree an adapter may raise);
* registering an adapter: :mod:`adapters.hookspecs` (``hookimpl`` and
  ``AdapterFactory``, what a vendor's plugin imports) and
  :mod:`adapters.registry` (the adapters the loaded plugins register; the
  plugin manager itself is the plugin core's, :mod:`plugin.manager`);
* what the app puts around every adapter call: :mod:`adapters.guard` (a
  timeout, the exception tree, a circuit breaker, logs without secrets);
* the built-in adapters, registered like any vendor's (:mod:`adapters.builtin`):
  ``demo`` (:mod:`adapters.demo`, a sandbox core in SQLite) and
  ``webservice`` (:mod:`adapters.webservice`, JSON over HTTPS following its
  ``openapi.yaml``), with :mod:`adapters.http_body` (reading a capped answer
  whole, shared with the webhook verb);
* SMS gateways for one-time payment codes, a contract of their own:
  :mod:`adapters.sms` (``SmsSender``, ``SmsSenderFactory`` for the hook
  ``infolinia_register_sms_senders``, the registry) and the built-in
  ``demo-outbox`` sender, :mod:`adapters.sms_outbox` (a 0600 file standing
  for the customer's phone);
* :mod:`adapters.testkit`: a pytest plugin that checks an installed adapter
  against the contract (``pytest -p adapters.testkit``).

Nothing here imports ``stasis_app`` or ``voice`` (only the plugin core
below it): the app depends on adapters, never the other way round. Writing
an adapter: ``docs/writing-an-adapter.md``.
"""
