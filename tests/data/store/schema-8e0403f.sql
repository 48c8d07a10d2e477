-- The schema of a store made by the code just before schema versions (8e0403f),
-- read back from its sqlite_master (admin_tokens.scopes added by ALTER TABLE).
CREATE TABLE prompt_texts (
    tenant TEXT NOT NULL, prompt TEXT NOT NULL, text TEXT NOT NULL,
    revision INTEGER NOT NULL, PRIMARY KEY (tenant, prompt));
CREATE TABLE prompt_history (
    revision INTEGER PRIMARY KEY, tenant TEXT NOT NULL, prompt TEXT NOT NULL,
    old_text TEXT NOT NULL, new_text TEXT NOT NULL, who TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE admin_tokens (
    name TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, tenant TEXT NOT NULL,
    created TEXT NOT NULL, scopes TEXT NOT NULL DEFAULT 'prompts');
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY, at TEXT NOT NULL, tenant TEXT NOT NULL, call_id TEXT NOT NULL,
    caller TEXT NOT NULL, action TEXT NOT NULL, customer TEXT NOT NULL, result TEXT NOT NULL,
    reference TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE INDEX audit_reference ON audit (reference);
CREATE TABLE audit_checkpoint (
    id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL,
    unkeyed INTEGER NOT NULL, verified_at TEXT NOT NULL, full_at TEXT NOT NULL, mac TEXT NOT NULL);
CREATE TABLE journal (
    seq INTEGER PRIMARY KEY, operation_id TEXT NOT NULL UNIQUE, tenant TEXT NOT NULL,
    call_id TEXT NOT NULL, caller TEXT NOT NULL, customer TEXT NOT NULL, kind TEXT NOT NULL,
    target TEXT NOT NULL, reference TEXT NOT NULL UNIQUE, state TEXT NOT NULL,
    created TEXT NOT NULL, attempts INTEGER NOT NULL, last_error TEXT NOT NULL,
    bank_reference TEXT NOT NULL, settled TEXT NOT NULL);
CREATE TABLE login_failures (
    tenant TEXT NOT NULL, customer TEXT NOT NULL, consecutive INTEGER NOT NULL,
    locked_until REAL NOT NULL, PRIMARY KEY (tenant, customer));
CREATE TABLE login_locks (
    tenant TEXT NOT NULL, customer TEXT NOT NULL, method TEXT NOT NULL,
    consecutive INTEGER NOT NULL, locked_until REAL NOT NULL,
    holder TEXT NOT NULL, held_until REAL NOT NULL, PRIMARY KEY (tenant, customer, method));
CREATE TABLE login_attempts (
    tenant TEXT NOT NULL, caller TEXT NOT NULL, customer TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX login_attempts_caller ON login_attempts (tenant, caller, at);
CREATE INDEX login_attempts_at ON login_attempts (at);
CREATE TABLE web_users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, tenant TEXT NOT NULL, salt TEXT NOT NULL,
    password_hash TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE recordings (
    sha TEXT PRIMARY KEY, kind TEXT NOT NULL, data BLOB NOT NULL, seconds REAL NOT NULL,
    who TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE callbacks (
    id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, queue TEXT NOT NULL, number TEXT NOT NULL,
    customer TEXT NOT NULL, level TEXT NOT NULL, waiting_since TEXT NOT NULL,
    requested TEXT NOT NULL, state TEXT NOT NULL, done_by TEXT NOT NULL, done TEXT NOT NULL);
CREATE TABLE web_login_failures (name TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX web_login_failures_name ON web_login_failures (name, at);
CREATE INDEX web_login_failures_at ON web_login_failures (at);
CREATE TABLE web_sessions (
    id_hash TEXT PRIMARY KEY, user TEXT NOT NULL, csrf TEXT NOT NULL, expires REAL NOT NULL);
