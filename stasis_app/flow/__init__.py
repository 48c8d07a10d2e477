"""Call flows as data: YAML files of states, each a verb with params and
transitions, validated before a call is taken and run by one engine.

* ``model``: a flow file loaded and checked, asking each verb its rules;
* ``engine``: ``run_flow``, one state after another for one call;
* ``context``: ``CallContext``, what a call's flow knows while it runs;
* ``graph``: the flow as a picture (Mermaid text and an SVG);
* ``speech``: what a flow says as prompt keys, customer data as Polish word
  fragments.
* ``versions``: a bank's flow as versions in the state store: drafts,
  publish, history, diff, revert, and every node following the live one.

What it may import: the layers below it (safeguards, telephony, the store,
the foundation, ``adapters``, ``voice``, ``plugin``); it uses the call only
as telephony's ``CallPort``. ``verbs`` and ``queue`` share its layer but are
built on it: ``flow`` names them only under ``TYPE_CHECKING``
(annotations), never at run time, so ``verbs`` -> ``queue`` -> ``flow`` stays
one way (``tests/test_flow_imports.py`` fails on a cycle).
"""
