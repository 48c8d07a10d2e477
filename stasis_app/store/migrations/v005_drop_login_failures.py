"""``login_failures`` goes: nothing has read or written it since
``login_locks`` (migration 4) took its rows.

The code between 4222189 and schema versions kept it as an empty table
(emptied again at every start), so stores it made still have one: adopted
at version 4, they lose it here.
"""

from stasis_app.store.schema import Schema

SQL = """
DROP TABLE login_failures;
"""


def in_effect(schema: Schema) -> bool:
    return False  # every store from before versions has the table (migration 1 made it)
