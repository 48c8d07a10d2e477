"""Which banks one deployment serves, and where each came from (issue 20):
the config file's ``tenants:`` (the seed) and banks a deployment admin added
on the admin page, kept in the state store.

    stored.py   the store's banks (``tenants``, migration 12): add, change,
                read; merged into the file's settings, a bank that does not
                load on this node left out with its problem; where each came from
    form.py     a new bank as the page's form gives it: the adapter's settings
                as fields from its own schema (secrets only as references),
                every field checked by the app's own checker, errors by field
"""
