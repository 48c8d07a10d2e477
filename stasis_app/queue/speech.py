"""What a waiting caller hears, as prompt keys: static prompts an admin can
reword, and word fragments in the caller's language (:mod:`voice.polish`,
:mod:`voice.ukrainian`, :mod:`voice.english`) for the numbers."""

from stasis_app.queue.estimate import spoken_minutes
from voice.fragments import fragment_keys
from voice.languages import DEFAULT, numbers

# Prompts every tenant with a queue needs (deployment checks them).
QUEUE_PROMPTS = (
    "queue_all_busy",
    "queue_you_are",
    "queue_person_in_line",
    "queue_many_ahead",
    "queue_wait_about",
    "queue_wait_about_minute",
    "queue_wait_under_minute",
    "queue_wait_about_hour",
    "queue_wait_over_hour",
    "queue_callback_offer",
    "queue_no_agents",
    "queue_timed_out",
    "callback_number_is",
    "callback_confirm",
    "callback_enter_number",
    "callback_registered",
    "callback_not_registered",
    "agent_whisper_authenticated",
    "agent_whisper_identified",
    "agent_whisper_anonymous",
)
OVER_AN_HOUR = 61


def position_keys(position: int, language: str = DEFAULT) -> list[str]:
    """ "Jesteś trzecią osobą w kolejce." (past 99: "many ahead of you")."""
    if position > 99:
        return ["queue_many_ahead"]
    # The sentence goes on after the place ("... osobą w kolejce."): no fall.
    words = fragment_keys(numbers(language).position_words(position), ends=False)
    return ["queue_you_are", *words, "queue_person_in_line"]


def wait_keys(seconds: float, language: str = DEFAULT) -> list[str]:
    """ "Przewidywany czas oczekiwania to około pięciu minut." """
    minutes = spoken_minutes(seconds)
    if minutes == 0:
        return ["queue_wait_under_minute"]
    if minutes == 1:
        return ["queue_wait_about_minute"]
    if minutes == OVER_AN_HOUR:
        return ["queue_wait_over_hour"]
    if minutes == 60:
        return ["queue_wait_about_hour"]
    words = numbers(language).minutes_words(minutes)
    return ["queue_wait_about", *fragment_keys(words)]


def announcement_keys(position: int, wait_seconds: float, language: str = DEFAULT) -> list[str]:
    """One periodic announcement: place, estimated wait, the callback offer."""
    return [
        *position_keys(position, language),
        *wait_keys(wait_seconds, language),
        "queue_callback_offer",
    ]


def whisper_keys(level: str | None) -> list[str]:
    """What the answering agent hears first: which bank, and whether the caller
    logged in. Nothing secret, no customer data."""
    known = {
        "authenticated": "agent_whisper_authenticated",
        "identified": "agent_whisper_identified",
    }
    return ["tenant_name", known.get(level or "", "agent_whisper_anonymous")]
