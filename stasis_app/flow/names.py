"""The words a bank's admin reads on the *Scenariusz* page instead of a
flow's internal keys: a state's name (its ``title:`` in the flow file, else
one made from its verb and its first prompt), an event's ("klawisz 1",
"bank nie odpowiada"), a verb's and a prompt's. The keys themselves stay
in the flow file; the page shows them small, for support.

A verb from a plugin with no entry here is named by its own key; an event
no table knows is shown as it is written.
"""

from collections.abc import Mapping
from typing import Any

VERB_NAMES: dict[str, str] = {
    "say": "Komunikat",
    "menu": "Menu",
    "gather": "Pytanie o numer",
    "confirm": "Potwierdzenie",
    "choose": "Wybór z listy",
    "identify": "Logowanie datą urodzenia",
    "authenticate": "Logowanie telekodem",
    "operation": "Operacja w banku",
    "transfer": "Połączenie z konsultantem",
    "goto": "Przejście",
    "hangup": "Zakończenie rozmowy",
    "webhook": "Serwis banku (webhook)",
    "block_request": "Zgłoszenie blokady",
    "language": "Powitanie i wybór języka",
    "route": "Rozdzielenie połączeń",
    "predefined_transfers": "Przelewy zdefiniowane",
    "send_code": "Kod SMS",
    "execute_transfer": "Wykonanie przelewu",
    "change_telekod": "Zmiana telekodu",
}

EVENT_NAMES: dict[str, str] = {
    "done": "dalej",
    "failed": "brak poprawnej odpowiedzi",
    "ok": "udało się",
    "refused": "bank odmówił",
    "too_many": "za dużo prób",
    "unavailable": "bank nie odpowiada",
    "not_allowed": "wymaga logowania",
    "empty": "nic do powiedzenia",
    "registered": "zapisana w dzienniku",
    "chosen": "wybrano",
    "yes": "tak (klawisz 1)",
    "no": "nie (klawisz 2)",
    "star": "gwiazdka zamiast numeru",
    "default": "w pozostałych przypadkach",
    "sent": "kod wysłany",
    "wrong": "zły kod",
    "expired": "kod wygasł",
    "unconfirmed": "bez potwierdzenia",
    "cancelled": "anulowano",
    "mismatch": "różne telekody",
    "weak": "telekod za słaby",
    "rejected": "bank nie przyjął",
}

# The events that send a caller somewhere safe when something goes wrong:
# the diagram folds their arrows into a line of the box when many states
# share the same target (the consultant, the goodbye).
FALLBACK_EVENTS = frozenset({"failed", "refused", "too_many", "unavailable", "not_allowed"})

OPERATION_NAMES: dict[str, str] = {
    "list_cards": "Lista kart klienta",
    "block_card": "Blokada karty",
    "block_internet_banking": "Blokada bankowości internetowej",
    "accounts": "Salda rachunków",
    "last_operations": "Ostatnie operacje",
    "account_list": "Lista rachunków",
    "account_balance": "Saldo wybranego rachunku",
    "account_operations": "Operacje wybranego rachunku",
    "exchange_rates": "Kursy walut",
}

# The shipped catalogue's prompts, named as the bank says them; a bank's own
# prompt is named by the first sentence of its text.
PROMPT_NAMES: dict[str, str] = {
    "greeting": "Powitanie",
    "main_menu": "Menu główne",
    "ask_customer_number": "Podaj numer klienta",
    "ask_telekod": "Podaj telekod",
    "ask_telekod_or_star": "Podaj telekod (lub gwiazdka)",
    "ask_birth_date": "Podaj datę urodzenia",
    "login_refused": "Błędne dane logowania",
    "too_many_failures": "Za dużo błędnych prób",
    "block_menu": "Menu blokad",
    "choose_card": "Wybierz kartę",
    "no_cards": "Brak kart",
    "confirm_card_block": "Potwierdź blokadę karty",
    "card_blocked": "Karta zablokowana",
    "confirm_ib_block": "Potwierdź blokadę bankowości",
    "ib_blocked": "Bankowość zablokowana",
    "block_registered": "Blokada zapisana w dzienniku",
    "block_login_failed": "Nieudane logowanie przy blokadzie",
    "block_request_registered": "Zgłoszenie blokady przyjęte",
    "after_block_request_menu": "Menu po zgłoszeniu blokady",
    "after_block_menu": "Menu po blokadzie",
    "block_cancelled": "Blokada anulowana",
    "no_accounts": "Brak rachunków",
    "balance_menu": "Menu salda",
    "history_intro": "Ostatnie operacje",
    "no_operations": "Brak operacji",
    "transferring": "Łączymy z konsultantem",
    "bank_unavailable": "Bank nie odpowiada",
    "invalid_choice": "Nieprawidłowy wybór",
    "no_input": "Nie usłyszeliśmy wyboru",
    "goodbye": "Do widzenia",
    "outside_hours": "Poza godzinami pracy",
    "consultants_unavailable": "Konsultanci niedostępni",
    "please_wait": "Proszę czekać",
    "choose_account": "Wybierz rachunek",
    "main_menu_information": "Opcja menu: informacja banku",
    "main_menu_rates": "Opcja menu: kursy walut",
    "bank_information": "Informacja banku",
    "after_information_menu": "Menu po informacji",
    "rates_intro": "Kursy walut",
    "no_rates": "Brak kursów walut",
    "balance_not_in_zloty": "Saldo walutowe poda konsultant",
}

KEYS = set("0123456789*#")  # a menu's keys (stasis_app/verbs/menu.py)
MAX_NAME = 48  # characters of a name made from a prompt's text


def event_name(event: str) -> str:
    """ "klawisz 1" for a menu key, the table's words for the others."""
    if event in KEYS:
        return f"klawisz {event}"
    if event.startswith("goto "):
        return f"serwis przekazał do {event[5:]}"
    return EVENT_NAMES.get(event, event)


def prompt_name(key: str, texts: Mapping[str, str] | None = None) -> str:
    """A prompt as the bank's admin calls it: the table's name, else the
    first sentence of its text (shortened), else its key."""
    if key in PROMPT_NAMES:
        return PROMPT_NAMES[key]
    text = " ".join((texts or {}).get(key, "").split())
    if not text:
        return key
    first = text.split(". ")[0].rstrip(".")
    return first if len(first) <= MAX_NAME else first[: MAX_NAME - 1].rstrip() + "…"


def first_prompt(params: Mapping[str, Any]) -> str | None:
    """The first prompt key a state's params name (its ``prompt`` list)."""
    prompt = params.get("prompt")
    if isinstance(prompt, list):
        return next((item for item in prompt if isinstance(item, str)), None)
    return None


def state_title(spec: Mapping[str, Any], name: str, texts: Mapping[str, str] | None = None) -> str:
    """A state's name for people: its ``title:``, else made from its verb
    and what it plays or does."""
    title = spec.get("title")
    if isinstance(title, str) and title.strip():
        return title.strip()
    verb = str(spec.get("verb", ""))
    params = spec.get("params") or {}
    if not isinstance(params, Mapping):
        params = {}
    if verb == "operation" and params.get("name") in OPERATION_NAMES:
        return OPERATION_NAMES[str(params["name"])]
    if verb == "goto":
        return f"Przejście do: {params.get('to', '?')}"
    if verb in (
        "transfer", "route", "webhook", "authenticate", "identify", "block_request",
        "predefined_transfers", "send_code", "execute_transfer", "change_telekod",
    ):  # fmt: skip
        return VERB_NAMES[verb]
    prompt = first_prompt(params)
    if prompt is not None:
        return prompt_name(prompt, texts)
    return VERB_NAMES.get(verb, name)
