"""The periods of the reports page: a day, a week (Monday to Sunday), a
month, or chosen dates (both included, at most :data:`MAX_DAYS`), read from
the page's query (``period``, ``day``, ``from``, ``to``) and turned into
Unix time over whole days of the bank's time zone."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

MAX_DAYS = 366  # a custom period's longest
FIRST_YEAR, LAST_YEAR = 2000, 2999  # the dates a page may ask for
PERIODS = {"day": "dzień", "week": "tydzień", "month": "miesiąc", "custom": "własny"}


@dataclass(frozen=True)
class Period:
    kind: str  # a key of PERIODS
    first: date
    last: date  # included

    def bounds(self, zone: ZoneInfo) -> tuple[float, float]:
        """[start, end) in Unix time: whole days in ``zone``."""
        start = datetime.combine(self.first, time(), tzinfo=zone).timestamp()
        end = datetime.combine(self.last + timedelta(days=1), time(), tzinfo=zone).timestamp()
        return start, end

    def query(self, **extra: str) -> str:
        shown = {"period": self.kind, "day": self.first.isoformat()}
        if self.kind == "custom":
            shown = {
                "period": "custom",
                "from": self.first.isoformat(),
                "to": self.last.isoformat(),
            }
        return urlencode({**shown, **extra})

    def shifted(self, step: int) -> "Period":
        """The period before (-1) or after (+1) this one, of the same kind."""
        if self.kind == "month":
            month = self.first.month - 1 + step
            return period_of("month", date(self.first.year + month // 12, month % 12 + 1, 1))
        days = (self.last - self.first).days + 1
        moved = timedelta(days=days * step)
        return Period(self.kind, self.first + moved, self.last + moved)


def period_of(kind: str, day: date) -> Period:
    """The day, the week (Monday to Sunday) or the month that holds ``day``."""
    if kind == "week":
        first = day - timedelta(days=day.weekday())
        return Period(kind, first, first + timedelta(days=6))
    if kind == "month":
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return Period(kind, first, following - timedelta(days=1))
    return Period("day", day, day)


def asked_period(query: dict[str, str], today: date) -> Period:
    """The period a page's query names (default: today); ValueError, with a
    message fit for the page, when it names none."""

    def day(name: str) -> date:
        text = query.get(name, "").strip()
        try:
            found = date.fromisoformat(text) if text else today
        except ValueError:
            raise ValueError(f"To nie jest data (RRRR-MM-DD): {text}") from None
        if not FIRST_YEAR <= found.year <= LAST_YEAR:  # 9999-12-31 has no next day
            raise ValueError(f"Data spoza lat {FIRST_YEAR}-{LAST_YEAR}: {text}")
        return found

    kind = query.get("period", "day")
    if kind not in PERIODS:
        raise ValueError(f"Nie ma takiego okresu: {kind}")
    if kind != "custom":
        return period_of(kind, day("day"))
    first, last = day("from"), day("to")
    if last < first:
        raise ValueError("Ostatni dzień jest przed pierwszym.")
    if (last - first).days >= MAX_DAYS:
        raise ValueError(f"Najdłuższy okres to {MAX_DAYS} dni.")
    return Period(kind, first, last)


# What the page compares the period with (``compare=``).
COMPARISONS = {
    "": "bez porównania",
    "previous": "z poprzednim okresem",
    "custom": "z wybranymi dniami",
    "version": "z inną wersją przebiegu (ten sam okres)",
}
# The page's query that is not the period: kept in its links.
KEPT = ("version", "compare", "cfrom", "cto", "cversion")


def compared_period(query: dict[str, str], period: Period, today: date) -> Period | None:
    """The period a page's query compares ``period`` with (None: no
    comparison); ValueError, with a message fit for the page."""
    kind = query.get("compare", "")
    if kind not in COMPARISONS:
        raise ValueError(f"Nie ma takiego porównania: {kind}")
    if kind == "previous":
        return period.shifted(-1)
    if kind == "version":
        return period
    if kind == "custom":
        other = asked_period(
            {"period": "custom", "from": query.get("cfrom", ""), "to": query.get("cto", "")},
            today,
        )
        return other
    return None
