"""Phone-login failures per customer number and login method, with the one
login allowed in flight (commit 4222189): ``authenticate`` (telekod) and
``identify`` (date of birth) are counted and locked apart, and a login is
reserved (``holder`` until ``held_until``) before the bank is asked.

``login_failures`` kept one count for both methods: its rows move over as
the telekod's, so a customer locked before the upgrade stays locked, and a
count under the limit goes on from where it was.
"""

from stasis_app.store.schema import Schema

SQL = """
CREATE TABLE login_locks (
    tenant TEXT NOT NULL, customer TEXT NOT NULL, method TEXT NOT NULL,
    consecutive INTEGER NOT NULL, locked_until REAL NOT NULL,
    holder TEXT NOT NULL, held_until REAL NOT NULL, PRIMARY KEY (tenant, customer, method));
INSERT INTO login_locks (tenant, customer, method, consecutive, locked_until, holder, held_until)
    SELECT tenant, customer, 'authenticate', consecutive, locked_until, '', 0
    FROM login_failures;
"""

POSTGRESQL = """
CREATE TABLE login_locks (
    tenant TEXT NOT NULL, customer TEXT NOT NULL, method TEXT NOT NULL,
    consecutive INTEGER NOT NULL, locked_until DOUBLE PRECISION NOT NULL,
    holder TEXT NOT NULL, held_until DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (tenant, customer, method));
INSERT INTO login_locks (tenant, customer, method, consecutive, locked_until, holder, held_until)
    SELECT tenant, customer, 'authenticate', consecutive, locked_until, '', 0
    FROM login_failures;
"""


def in_effect(schema: Schema) -> bool:
    return schema.has("login_locks")
