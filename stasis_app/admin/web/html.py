"""The admin page's HTML: one layout and a few small builders. Every value
from outside goes through :func:`esc`; pages are plain strings (no template
engine needed for this few)."""

import difflib
import html
from string import Template
from urllib.parse import quote

from aiohttp import web

from stasis_app.admin.web.accounts import User

esc = html.escape

STYLE = """
body{font-family:"DejaVu Sans",sans-serif;margin:0;color:#222;font-size:15px}
header{background:#1f4e79;color:#fff;padding:.6em 1em;display:flex;gap:1.2em;align-items:center}
header a{color:#fff}header .who{margin-left:auto;font-size:.9em}
main{padding:1em 1.5em;max-width:1100px}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3em .5em;
text-align:left;vertical-align:top}
textarea{width:100%;font-size:1em}ins{background:#d4f7d4}del{background:#fadadd}
.note{background:#fff6d6;padding:.5em;border:1px solid #e0c060}
.error{background:#fde2e2;padding:.5em;border:1px solid #b33}
.ok{color:#185c18}.bad{color:#b33}form.inline{display:inline}
.flow svg{max-width:100%;height:auto}
svg.chart{max-width:100%;height:auto}td.n{text-align:right}a.csv{font-size:.7em}
"""

LAYOUT = Template("""<!doctype html>
<html lang="pl"><head><meta charset="utf-8"><title>$title · infolinia</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>$style</style></head>
<body><header><strong>infolinia</strong>$nav</header>
<main><h1>$title</h1>
$body</main></body></html>
""")

NAV = {
    "admin": [
        ("Komunikaty", "prompts"),
        ("Scenariusz", "scenario"),
        ("Dziennik", "audit"),
        ("Raporty", "reports"),
        ("Nagrania rozmów", "recordings"),
        ("Użytkownicy", "users"),
    ],
    "supervisor": [("Rozmowy na żywo", "live"), ("Kolejki", "queues")],
    "auditor": [
        ("Dziennik zdarzeń", "audit"),
        ("Raporty", "reports"),
        ("Scenariusz", "scenario"),
        ("Nagrania rozmów", "recordings"),
    ],
}


def page(title: str, body: str, user: User | None = None, csrf: str = "") -> web.Response:
    nav = ""
    if user is not None:
        items = NAV[user.role]
        if user.role == "admin":  # where each bank came from; a new one (admins of all)
            items = [*items, ("Banki", "tenants")]
        links = "".join(f'<a href="/admin/{href}">{esc(label)}</a>' for label, href in items)
        tenant = "wszystkie banki" if user.tenant == "*" else user.tenant
        nav = (
            f'{links}<span class="who">{esc(user.name)} ({esc(user.role)}, {esc(tenant)}) '
            f'<form class="inline" method="post" action="/admin/logout">{csrf_field(csrf)}'
            "<button>Wyloguj</button></form></span>"
        )
    text = LAYOUT.substitute(title=esc(title), style=STYLE, nav=nav, body=body)
    return web.Response(text=text, content_type="text/html", headers=NO_STORE)


def error_page(status: int, title: str, message: str, user: User | None = None) -> web.Response:
    response = page(title, f'<p class="error">{esc(message)}</p>', user)
    response.set_status(status)
    return response


def tenant_choice(title: str, base: str, tenants: list[str], user: User, csrf: str) -> web.Response:
    """The banks ``user`` sees, each a link to ``base``/<bank>; straight to
    that page when there is only one."""
    if len(tenants) == 1:
        raise web.HTTPSeeOther(f"{base}/{quote(tenants[0])}")
    items = "".join(f'<li><a href="{base}/{quote(t)}">{esc(t)}</a></li>' for t in tenants)
    return page(title, f"<ul>{items}</ul>", user, csrf)


def csrf_field(csrf: str) -> str:
    return f'<input type="hidden" name="csrf" value="{esc(csrf)}">'


def word_diff(old: str, new: str) -> str:
    """Words removed in <del>, words added in <ins>."""
    a, b = old.split(), new.split()
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b).get_opcodes():
        if op == "equal":
            out.append(esc(" ".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(f"<del>{esc(' '.join(a[i1:i2]))}</del>")
        if j2 > j1:
            out.append(f"<ins>{esc(' '.join(b[j1:j2]))}</ins>")
    return " ".join(out)


# Pages show staff data: never cached by a browser or a proxy.
NO_STORE = {"Cache-Control": "no-store"}
