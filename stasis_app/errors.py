"""Exceptions of the Stasis application.

:class:`InfoliniaError` is the base of every error ``stasis_app`` raises on
purpose. The shared ones are defined here; the others live next to the code
that raises them (the module, under ``stasis_app``, is in brackets). The
whole tree::

    InfoliniaError
    ├── ConfigError              a config file or setting is wrong (names file and field)
    │   ├── AuditKeyError        no audit key, or not the trail's [safeguards.audit_key]
    │   │   └── AuditKeyMissing  ...none at all (env, file) [safeguards.audit_key]
    │   ├── StoreTooNew          the state store is from a newer release [store.migrate]
    │   └── MigrationFailed      a store migration failed, rolled back whole [store.migrate]
    ├── PlaybackFailed           Asterisk could not play a prompt (missing or unreadable file)
    ├── UnspeakableValue         a value is not of the kind it is to be spoken as (ValueError)
    ├── AriError                 talking to Asterisk failed
    │   ├── CallHungUp           the caller's channel is gone; unwinds the call's task
    │   ├── AriUnavailable       Asterisk did not answer (down, restarting, timed out)
    │   └── AriRequestFailed     Asterisk answered a request with an error
    │       └── AriRefusedLogin  ...refusing our user and password at the first connect
    ├── WebhookFailed            a bank's webservice could not drive the call [verbs.webhook]
    ├── ReplyError               a webservice's reply the call cannot act on [verbs.webhook_replies]
    ├── PromptAdminError         a prompt edit cannot be made (told to the admin) [admin.prompts]
    │   ├── UnknownPrompt        ...no such tenant, or no such editable prompt [admin.prompts]
    │   ├── BadText              ...empty or too long, or not a recording [admin.prompts]
    │   └── UploadsBusy          ...too many recordings in progress [admin.prompts]
    ├── StaleEdit                a prompt's text changed since the editor saw it [store.state]
    ├── VersionError             a flow version cannot be read, saved or published [flow.versions]
    │   ├── UnknownVersion       ...no such bank or version (LookupError) [flow.versions]
    │   ├── StaleVersion         ...the draft changed since the editor saw it [flow.versions]
    │   └── FlowRejected         ...the flow checker refused it: not publishable [flow.versions]
    ├── EditError                a Scenariusz edit cannot be made on the flow [flow.editing]
    ├── TenantStoreError         a page-made bank cannot be saved as asked [tenancy.stored]
    │   └── StaleTenant          ...it changed since the admin saw it [tenancy.stored]
    ├── AccountError             an admin user cannot be made as asked [admin.web.accounts]
    ├── FormError                a form value is not of its field's kind [admin.web.scenario_forms]
    ├── UnknownSupervisor        no such supervisor (LookupError) [queue.supervisor]
    ├── NoSuchRequest            no such block request (LookupError) [safeguards.journal]
    ├── HeadsError               an audit heads file cannot be trusted [safeguards.audit]
    ├── PostgresError            the private PostgreSQL of devtools failed [devtools.postgres]
    └── SandboxError             the Asterisk sandbox failed [devtools.sandbox]
        └── ClusterError         ...or the cluster on one machine [devtools.cluster_node]

Only :mod:`stasis_app.telephony.gateway` raises the ``AriError`` family: it turns aiohttp's and
aioari's exceptions into these, so nothing else needs to know about them. A
class that is also a ``ValueError`` or ``LookupError`` is caught by code that
catches those, as before it joined the tree.

Outside the tree, on purpose (the packages below ``stasis_app`` never import
it, so their errors cannot derive from :class:`InfoliniaError`):

* ``adapters.errors.AdapterError`` and its tree (drawn in
  ``adapters/errors.py``): the adapter contract, raised by banks' plugins;
* ``adapters.http_body.BodyTooLarge``: a capped reader's signal, caught by
  its callers (the webservice adapter, the webhook verb);
* ``voice``'s ``SynthesisError`` (``AllEnginesFailed``) and ``BadRecording``;
* the plugin core's ``SetupError`` (``plugin.registry``) and its kinds:
  ``AdapterSetupError``, ``EngineSetupError`` and ``VerbSetupError``
  [verbs.registry], which stays with its siblings.
"""


class InfoliniaError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(InfoliniaError):
    """A configuration problem, with the file and field it is about."""

    def __init__(self, file: str, field: str, problem: str) -> None:
        self.file = file
        self.field = field
        self.problem = problem
        super().__init__(f"{file}: {field}: {problem}")


class PlaybackFailed(InfoliniaError):
    """Asterisk reported a prompt as failed: the caller did not hear it."""


class UnspeakableValue(InfoliniaError, ValueError):
    """A value a flow (or a webhook's reply) asks to speak is not of the kind
    it names, e.g. a text to be spoken as a date. The message names types,
    never the value (customer data). A real check, unlike ``assert``, which
    ``python -O`` removes."""


class AriError(InfoliniaError):
    """Talking to Asterisk over ARI failed."""


class CallHungUp(AriError):
    """The call's channel has hung up or no longer exists."""


class AriUnavailable(AriError):
    """Asterisk did not answer (connection refused, dropped or timed out)."""


class AriRequestFailed(AriError):
    """Asterisk answered an ARI request with an error status."""

    def __init__(self, status: int, operation: str, detail: str = "") -> None:
        self.status = status
        self.operation = operation
        super().__init__(f"ARI {operation} failed with HTTP {status} {detail}".rstrip())


class AriRefusedLogin(AriRequestFailed):
    """Asterisk refused the ARI user and password before the app ever
    connected: a configuration error, so start-up stops (a later refusal,
    e.g. a password rotated on the Asterisk side, is retried like an outage)."""
