"""What a bank's management reads of its phone line: one record per call
(:mod:`~stasis_app.reports.trail` gathers it while the call runs,
:mod:`~stasis_app.reports.records` keeps it in the state store and deletes
it after the bank's retention) and the figures over a period
(:mod:`~stasis_app.reports.figures`: ``infolinia report``).

What it may import: the store and the foundation (tenants, config). The
call logic (flow engine, verbs, queue) writes into a call's
:class:`~stasis_app.reports.trail.CallTrail`; nothing here knows of calls
in progress. A record holds no secret and no customer number.
"""
