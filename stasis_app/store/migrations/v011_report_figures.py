"""The rest of issue 23's reports: what the call records need for the queue's
service level and announcements, a survey's score, the funnel per path and
a comparison of two flow versions.

* ``call_records`` gets ``announcements`` (the waiting-time announcements
  the caller heard in their last queue; 0 for the rows already there: not
  counted then) and ``survey_score`` (a satisfaction survey's answer, NULL
  when none was given: every row already there). Its period index is made
  again with both and the flow version, so that a report still reads the
  index alone, also for one flow version.
* ``call_operations`` gets the call's ``flow_version`` (copied from its
  record for the rows already there), in its period index.
* ``call_states`` is new: each state a call entered, once (a call that
  went round a menu twice entered it once), with the call's bank, start and
  flow version: how many calls reached each state of a period, in SQL over
  an index. Filled for the records already there from their JSON states
  (SQLite's ``json_each``, PostgreSQL's ``json_array_elements``).
"""

from stasis_app.store.schema import Schema

COMMON = """
ALTER TABLE call_records ADD COLUMN announcements INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_records ADD COLUMN survey_score INTEGER;
DROP INDEX call_records_period;
CREATE INDEX call_records_period ON call_records (tenant, started, ending, last_state, queue,
    queue_outcome, queue_wait, announcements, node, done, consultant, survey_score, flow_version);
ALTER TABLE call_operations ADD COLUMN flow_version TEXT NOT NULL DEFAULT '';
UPDATE call_operations SET flow_version = COALESCE((SELECT r.flow_version FROM call_records r
    WHERE r.node = call_operations.node AND r.call_id = call_operations.call_id), '');
DROP INDEX call_operations_period;
CREATE INDEX call_operations_period ON call_operations (tenant, started, flow_version, kind,
    outcome);
"""

SQL = (
    COMMON
    + """
CREATE TABLE call_states (
    node TEXT NOT NULL, call_id TEXT NOT NULL, state TEXT NOT NULL, tenant TEXT NOT NULL,
    started REAL NOT NULL, flow_version TEXT NOT NULL,
    PRIMARY KEY (node, call_id, state));
CREATE INDEX call_states_period ON call_states (tenant, started, flow_version, state);
INSERT INTO call_states (node, call_id, state, tenant, started, flow_version)
    SELECT DISTINCT r.node, r.call_id, json_extract(s.value, '$[0]'), r.tenant, r.started,
    r.flow_version FROM call_records r, json_each(r.states) s;
"""
)

POSTGRESQL = (
    COMMON
    + """
CREATE TABLE call_states (
    node TEXT NOT NULL, call_id TEXT NOT NULL, state TEXT NOT NULL, tenant TEXT NOT NULL,
    started DOUBLE PRECISION NOT NULL, flow_version TEXT NOT NULL,
    PRIMARY KEY (node, call_id, state));
CREATE INDEX call_states_period ON call_states (tenant, started, flow_version, state);
INSERT INTO call_states (node, call_id, state, tenant, started, flow_version)
    SELECT DISTINCT r.node, r.call_id, s.value ->> 0, r.tenant, r.started, r.flow_version
    FROM call_records r, json_array_elements(r.states::json) s;
"""
)


def in_effect(schema: Schema) -> bool:
    return False  # new with this release: no store from before versions has it
