"""A record per call, for the reports a bank's management reads (issue 23):
``call_records`` holds one row per call of a bank, written once when the
call ends (:mod:`stasis_app.reports.records`): bank, line, node, start and
end (Unix time), the flow and its version, the language, how the call ended,
the last state, how many operations were done, whether it reached a
consultant, its (last) queue's outcome and wait, the consultant's endpoint,
and as JSON the states passed through with their seconds, the operations
with their outcomes and every queue visit. ``call_operations`` holds the
operations again, one row each, so that a report counts them by kind and
outcome in SQL. No caller or customer number is kept.

Both are read by "one bank, a period": their indexes start with tenant and
start and hold every column a report counts, so a report reads the index
alone (a record's row, with its JSON, is large and a period's rows lie all
over the table). Deleted by start after the bank's retention. New tables:
no rows to convert.
"""

from stasis_app.store.schema import Schema

SQL = """
CREATE TABLE call_records (
    node TEXT NOT NULL, call_id TEXT NOT NULL, tenant TEXT NOT NULL, line TEXT NOT NULL,
    started REAL NOT NULL, ended REAL NOT NULL, flow TEXT NOT NULL, flow_version TEXT NOT NULL,
    language TEXT NOT NULL, ending TEXT NOT NULL, last_state TEXT NOT NULL,
    done INTEGER NOT NULL, consultant INTEGER NOT NULL, queue TEXT NOT NULL,
    queue_outcome TEXT NOT NULL, queue_wait REAL, agent TEXT NOT NULL,
    states TEXT NOT NULL, operations TEXT NOT NULL, queues TEXT NOT NULL,
    PRIMARY KEY (node, call_id));
CREATE INDEX call_records_period ON call_records (tenant, started, ending, last_state, queue,
    queue_outcome, queue_wait, node, done, consultant);
CREATE TABLE call_operations (
    node TEXT NOT NULL, call_id TEXT NOT NULL, seq INTEGER NOT NULL, tenant TEXT NOT NULL,
    started REAL NOT NULL, kind TEXT NOT NULL, outcome TEXT NOT NULL,
    PRIMARY KEY (node, call_id, seq));
CREATE INDEX call_operations_period ON call_operations (tenant, started, kind, outcome);
"""

POSTGRESQL = """
CREATE TABLE call_records (
    node TEXT NOT NULL, call_id TEXT NOT NULL, tenant TEXT NOT NULL, line TEXT NOT NULL,
    started DOUBLE PRECISION NOT NULL, ended DOUBLE PRECISION NOT NULL, flow TEXT NOT NULL,
    flow_version TEXT NOT NULL, language TEXT NOT NULL, ending TEXT NOT NULL,
    last_state TEXT NOT NULL, done INTEGER NOT NULL, consultant INTEGER NOT NULL,
    queue TEXT NOT NULL, queue_outcome TEXT NOT NULL, queue_wait DOUBLE PRECISION,
    agent TEXT NOT NULL, states TEXT NOT NULL, operations TEXT NOT NULL, queues TEXT NOT NULL,
    PRIMARY KEY (node, call_id));
CREATE INDEX call_records_period ON call_records (tenant, started, ending, last_state, queue,
    queue_outcome, queue_wait, node, done, consultant);
CREATE TABLE call_operations (
    node TEXT NOT NULL, call_id TEXT NOT NULL, seq INTEGER NOT NULL, tenant TEXT NOT NULL,
    started DOUBLE PRECISION NOT NULL, kind TEXT NOT NULL, outcome TEXT NOT NULL,
    PRIMARY KEY (node, call_id, seq));
CREATE INDEX call_operations_period ON call_operations (tenant, started, kind, outcome);
"""


def in_effect(schema: Schema) -> bool:
    return False  # new with this release: no store from before versions has it
