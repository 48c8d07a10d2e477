"""The store's schema, as the ordered changes that made it.

Every table, index and column of the state store is made here and nowhere
else: ``v001_baseline`` is the schema of release 9c035a7 (the last before the
security work of issue 17), and each later module is one change since, in
the order it was made. :mod:`stasis_app.store.migrate` applies the ones a
store lacks when it is opened.

To change the schema, add a module ``vNNN_<what>.py`` with the next number
(never edit or renumber one that was released: stores out there have run
it), holding:

* a docstring: what changes and why, and what happens to the rows already
  there;
* ``SQL``: the statements, each ending with ``;``. Keep them portable
  (``CREATE TABLE``, ``CREATE INDEX``, ``ALTER TABLE ... ADD COLUMN ... NOT
  NULL DEFAULT ...``, ``INSERT ... SELECT``, ``DROP TABLE``): a PostgreSQL
  store comes next. Name the columns in an ``INSERT``; give a new ``NOT
  NULL`` column a default (the rows already there need a value);
* ``in_effect(schema) -> bool``: always ``False`` for a new migration (only
  stores made before versions existed are asked; they never have it).

Then add rows of the new shape to the test of migrations
(``tests/test_store_migrations.py``) and to what the module that owns the
table reads. What may be imported here: :mod:`stasis_app.store.schema` only.
"""
