"""An amount as a caller hears it, in any language: rounded to the grosz
(half up), split into złoty and grosze, and whether it is below zero (an
amount that rounds to nothing is never "minus"). The number words are each
language's (voice/polish.py, voice/ukrainian.py, voice/english.py); this
rule is one, so no two languages read one balance differently."""

from decimal import ROUND_HALF_UP, Decimal


def zloty_and_grosze(amount: Decimal) -> tuple[bool, int, int]:
    """(negative, złoty, grosze) of ``amount``: -1234.565 -> (True, 1234, 57)."""
    cents = int((abs(amount) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    zloty, grosze = divmod(cents, 100)
    return amount < 0 and cents > 0, zloty, grosze
