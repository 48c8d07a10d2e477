"""Admin API tokens get scopes (commit 96c8cdb): what a token may do, some of
``prompts``, ``queues`` and ``supervise``, space-separated.

Tokens made before keep editing prompts only (``prompts``, the default):
that is what tokens were for then, and a token that could suddenly listen
in to calls would be a surprise to whoever holds it.
"""

from stasis_app.store.schema import Schema

SQL = """
ALTER TABLE admin_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT 'prompts';
"""


def in_effect(schema: Schema) -> bool:
    return schema.has_column("admin_tokens", "scopes")
