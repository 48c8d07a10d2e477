"""The foundation's stand-in call flow: greet, read keys, say them back.

It proves the whole path (Asterisk -> gateway -> call task -> prompts ->
Asterisk) on a real call until the flow engine of the call-flow issue
replaces it. Keys are read back as digits; they are never logged.
"""

from stasis_app.call import Call, DigitTimeouts

PROMPT_KEYS = (
    "greeting",
    "ask_digits",
    "you_entered",
    "no_input",
    "goodbye",
    "apology",
    "resumed",
    *(f"digit_{d}" for d in "0123456789"),
    "digit_star",
)
SPOKEN_KEYS = {**{d: f"digit_{d}" for d in "0123456789"}, "*": "digit_star"}
MAX_DIGITS = 16
ATTEMPTS = 2


async def echo_line(call: Call, timeouts: DigitTimeouts) -> None:
    """Greet the caller, read up to 16 keys ended by '#', say them back, hang up."""
    if call.handle.resumed:
        await call.say(["resumed"])
    await call.say(["greeting"], barge_in=True)
    for _ in range(ATTEMPTS):
        await call.say(["ask_digits"], barge_in=True)
        digits = await call.read_digits(MAX_DIGITS, terminator="#", timeouts=timeouts)
        if digits:
            await call.say(["you_entered", *(SPOKEN_KEYS[d] for d in digits if d in SPOKEN_KEYS)])
            break
        await call.say(["no_input"])
    await call.say(["goodbye"])
    await call.hangup()
