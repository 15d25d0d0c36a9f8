"""The Accelerator planner: match catalogue entries to backlog items, schedule sessions, and
count sessions used against those entitled per contract year.

Matching scores are exact decimals. The default method is TF-IDF over the words of both lists
(computed here, with no library); another method (a sentence-embedding model) may hand in its own
score table, and the ranking, the matched words and the schedule stay the same.
"""

from __future__ import annotations

import calendar
import heapq
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from creditops.core.numbers import ZERO, round_to

ONE = Decimal(1)
SCORE_PLACES = 4
SESSION_QUANTITY = ONE

# Words too common to tell one topic from another ("salesforce" is in every topic of a Salesforce
# catalogue). Kept short on purpose: TF-IDF already discounts words that appear everywhere.
_STOPWORD_TEXT = """
a about above after again against all also an and any are as at be because been before being
below between both but by can could did do does doing done down during each few for from further
get had has have having he her here how i if in into is it its itself just let me more most my
need needs no nor not now of off on once only or other our ours out over own same she should so
some such than that the their them then there these they this those through to too under until
up use used using very via want was we were what when where which while who why will with within
without would you your salesforce
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_WORD = re.compile(r"[a-z0-9]+")
# Ordered longest first: the first suffix that fits wins. Enough to make "integrate",
# "integration" and "integrations" one term without a stemming library.
_SUFFIXES = (
    "isations", "izations", "isation", "ization", "ations", "ation", "ating", "ising", "izing",
    "ated", "ates", "ings", "ing", "ised", "ized", "ises", "izes", "ise", "ize", "ate", "ed",
)


@dataclass(frozen=True)
class CatalogueEntry:
    """One Accelerator or expert-coaching topic of the user's catalogue."""

    id: str
    title: str
    description: str
    product: str
    hours: Decimal | None  # None when the export does not say

    @property
    def text(self) -> str:
        # The title counts twice: it names the topic, the description pads it.
        return f"{self.title} {self.title} {self.description} {self.product}"


@dataclass(frozen=True)
class BacklogItem:
    """One item of the development backlog; ``priority`` is a rank, 1 the most urgent."""

    id: str
    title: str
    description: str
    owner: str
    priority: int
    questions: str = ""

    @property
    def text(self) -> str:
        return f"{self.title} {self.title} {self.description} {self.questions}"

    @property
    def preparation(self) -> str:
        """What the owner brings to the session: the item's questions, else its description."""
        return self.questions.strip() or self.description.strip()


@dataclass(frozen=True)
class Match:
    entry: CatalogueEntry
    score: Decimal
    matched_words: tuple[str, ...]


@dataclass(frozen=True)
class ItemMatches:
    item: BacklogItem
    matches: tuple[Match, ...]


ScoreTable = Mapping[tuple[str, str], Decimal]
"""Similarity of (backlog id, catalogue id), 0 to 1; pairs not present score 0."""


# ---------------------------------------------------------------------------------------------
# Words and TF-IDF


def stem(word: str) -> str:
    """Folds plurals and common verb/noun endings so related words count as one term."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    else:
        if word.endswith(("sses", "ches", "shes", "xes")):
            word = word[:-2]
        elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
            word = word[:-1]
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def words(text: str) -> list[tuple[str, str]]:
    """The (term, word as written) pairs of a text, stopwords left out, in order."""
    pairs = []
    for word in _WORD.findall(text.lower()):
        if word in STOPWORDS or len(word) < 2 or word.isdigit():
            continue
        pairs.append((stem(word), word))
    return pairs


def _terms(text: str) -> Counter[str]:
    return Counter(term for term, _ in words(text))


def tfidf_scores(backlog: Sequence[BacklogItem],
                 catalogue: Sequence[CatalogueEntry]) -> dict[tuple[str, str], Decimal]:
    """Cosine similarity of TF-IDF vectors for every (backlog item, catalogue entry) pair that
    shares a term. Document frequencies count both lists, so a word found everywhere (the
    product name of a single-cloud estate, say) weighs little."""
    backlog_terms = [_terms(item.text) for item in backlog]
    catalogue_terms = [_terms(entry.text) for entry in catalogue]
    documents = backlog_terms + catalogue_terms
    frequency: Counter[str] = Counter()
    for terms in documents:
        frequency.update(terms.keys())
    total = Decimal(len(documents))
    idf = {term: ((ONE + total) / (ONE + count)).ln() + ONE for term, count in frequency.items()}

    def weights(terms: Counter[str]) -> tuple[dict[str, Decimal], Decimal]:
        vector = {term: count * idf[term] for term, count in terms.items()}
        norm = sum((w * w for w in vector.values()), ZERO).sqrt()
        return vector, norm

    catalogue_vectors = [weights(terms) for terms in catalogue_terms]
    postings: dict[str, list[int]] = {}
    for index, terms in enumerate(catalogue_terms):
        for term in terms:
            postings.setdefault(term, []).append(index)

    scores: dict[tuple[str, str], Decimal] = {}
    for item, terms in zip(backlog, backlog_terms, strict=True):
        vector, norm = weights(terms)
        dots: dict[int, Decimal] = {}
        for term, weight in vector.items():
            for index in postings.get(term, ()):
                dots[index] = dots.get(index, ZERO) + weight * catalogue_vectors[index][0][term]
        for index, dot in dots.items():
            scores[(item.id, catalogue[index].id)] = dot / (norm * catalogue_vectors[index][1])
    return scores


def matched_words(item: BacklogItem, entry: CatalogueEntry) -> tuple[str, ...]:
    """The backlog item's words (as written, first occurrence) whose term the entry shares."""
    entry_terms = _terms(entry.text)
    seen: dict[str, str] = {}
    for term, word in words(item.text):
        if term in entry_terms and term not in seen:
            seen[term] = word
    return tuple(seen.values())


def rank_matches(backlog: Sequence[BacklogItem], catalogue: Sequence[CatalogueEntry],
                 scores: ScoreTable, top: int, min_score: Decimal) -> list[ItemMatches]:
    """For each backlog item (in the order given), the ``top`` catalogue entries scoring at least
    ``min_score`` (and above zero), best first; ties go to the lower catalogue id."""
    if top < 1:
        raise ValueError("top must be at least 1")
    results = []
    for item in backlog:
        candidates = []
        for entry in catalogue:
            score = scores.get((item.id, entry.id), ZERO)
            if score > 0 and score >= min_score:
                candidates.append((score, entry))
        candidates.sort(key=lambda pair: (-pair[0], pair[1].id))
        matches = tuple(
            Match(entry, round_to(score, SCORE_PLACES), matched_words(item, entry))
            for score, entry in candidates[:top]
        )
        results.append(ItemMatches(item, matches))
    return results


def top_k_accuracy(ranked: Sequence[ItemMatches], expected: Mapping[str, str],
                   k: int) -> Decimal:
    """Share of labelled backlog items whose expected catalogue id is in their first ``k``."""
    labelled = [result for result in ranked if result.item.id in expected]
    if not labelled:
        raise ValueError("no labelled backlog item in the ranking")
    hits = sum(
        1 for result in labelled
        if expected[result.item.id] in {match.entry.id for match in result.matches[:k]}
    )
    return Decimal(hits) / Decimal(len(labelled))


# ---------------------------------------------------------------------------------------------
# Calendar arithmetic


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (or earlier), clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def _months_between(start: date, day: date) -> int:
    months = (day.year - start.year) * 12 + day.month - start.month
    if add_months(start, months) > day:
        months -= 1
    return months


def contract_year_start(anchor: date, day: date) -> date:
    """The first day of the contract year (anniversaries of ``anchor``) that holds ``day``."""
    return add_months(anchor, 12 * (_months_between(anchor, day) // 12))


def _business_day(day: date, first: date, last: date) -> date:
    """The next weekday on or after ``day``, or the previous one if that leaves [first, last]."""
    forward = day
    while forward.weekday() >= 5:
        forward += timedelta(days=1)
    if forward <= last:
        return forward
    backward = day
    while backward.weekday() >= 5 and backward > first:
        backward -= timedelta(days=1)
    return backward


# ---------------------------------------------------------------------------------------------
# Schedule


@dataclass(frozen=True)
class UsedSession:
    """A session already delivered."""

    day: date
    catalogue_id: str
    backlog_id: str | None = None


@dataclass(frozen=True)
class Session:
    """A planned session, shaped as a plan milestone (date, quantity, description, owner,
    project) plus what the planner knows about it."""

    day: date
    quarter: int
    entry: CatalogueEntry
    item: BacklogItem
    score: Decimal
    matched_words: tuple[str, ...]
    quantity: Decimal = SESSION_QUANTITY

    @property
    def description(self) -> str:
        return f"Accelerator: {self.entry.title} (for {self.item.id}: {self.item.title})"

    @property
    def owner(self) -> str:
        return self.item.owner

    @property
    def project(self) -> str:
        return self.item.id

    @property
    def preparation(self) -> str:
        return self.item.preparation

    @property
    def uid_parts(self) -> tuple[str, str]:
        """What identifies the session across re-plans: the same item with the same entry."""
        return (self.item.id, self.entry.id)


@dataclass(frozen=True)
class Quarter:
    index: int
    start: date
    end: date  # inclusive


@dataclass(frozen=True)
class YearUsage:
    """Sessions of one contract year: entitled (None when unlimited or not given), used
    (delivered), planned, and what is left once the plan is delivered."""

    start: date
    end: date  # inclusive
    entitled: int | None
    used: int
    planned: int

    @property
    def remaining(self) -> int | None:
        return None if self.entitled is None else self.entitled - self.used - self.planned


@dataclass(frozen=True)
class Schedule:
    sessions: tuple[Session, ...]
    quarters: tuple[Quarter, ...]
    years: tuple[YearUsage, ...]
    warnings: tuple[str, ...] = field(default=())


def quarters_from(start: date, count: int) -> list[Quarter]:
    """``count`` consecutive three-month periods from ``start``."""
    if count < 1:
        raise ValueError("quarters must be at least 1")
    return [
        Quarter(i, add_months(start, 3 * i), add_months(start, 3 * (i + 1)) - timedelta(days=1))
        for i in range(count)
    ]


def _slot_days(quarter: Quarter, per_quarter: int) -> list[date]:
    """The middle of each of ``per_quarter`` equal parts of the quarter, moved to a weekday:
    the owner gets time to prepare, and sessions are spread evenly."""
    length = (quarter.end - quarter.start).days + 1
    return [
        _business_day(quarter.start + timedelta(days=(length * (2 * k + 1)) // (2 * per_quarter)),
                      quarter.start, quarter.end)
        for k in range(per_quarter)
    ]


def plan_sessions(ranked: Sequence[ItemMatches], start: date, quarters: int, per_quarter: int,
                  used: Sequence[UsedSession] = (), entitled_per_year: int | None = None,
                  year_anchor: date | None = None) -> Schedule:
    """Sessions from ``start`` over ``quarters`` quarters, ``per_quarter`` in each.

    Order: items not yet served come before items that already had a session (delivered or
    planned), then the most urgent priority, then the best-fitting entry, then the id. Each
    catalogue entry is booked once, and never again once delivered. The most urgent work lands
    in the earliest slots, as the seeds advise front-loading. With ``entitled_per_year``, no
    contract year (anniversaries of ``year_anchor``, default ``start``) is booked beyond what
    is left of its entitlement.
    """
    if per_quarter < 1:
        raise ValueError("sessions per quarter must be at least 1")
    if entitled_per_year is not None and entitled_per_year < 0:
        raise ValueError("entitled sessions per year cannot be negative")
    anchor = year_anchor or start
    periods = quarters_from(start, quarters)
    taken = {session.catalogue_id for session in used}
    served = Counter(session.backlog_id for session in used if session.backlog_id)
    used_per_year = Counter(contract_year_start(anchor, session.day) for session in used)
    planned_per_year: Counter[date] = Counter()

    options = {
        result.item.id: [match for match in result.matches if match.entry.id not in taken]
        for result in ranked
    }
    items = {result.item.id: result.item for result in ranked}
    queue: list[tuple[int, int, Decimal, str]] = []

    def push(item_id: str) -> None:
        remaining = [match for match in options[item_id] if match.entry.id not in taken]
        options[item_id] = remaining
        if remaining:
            heapq.heappush(queue, (served[item_id], items[item_id].priority,
                                   -remaining[0].score, item_id))

    for item_id in options:
        push(item_id)

    sessions: list[Session] = []
    warnings: list[str] = []
    for quarter in periods:
        booked = 0
        for day in _slot_days(quarter, per_quarter):
            year = contract_year_start(anchor, day)
            if (entitled_per_year is not None
                    and used_per_year[year] + planned_per_year[year] >= entitled_per_year):
                continue
            match, item_id = None, ""
            while queue and match is None:
                _, _, best, item_id = heapq.heappop(queue)
                remaining = [m for m in options[item_id] if m.entry.id not in taken]
                options[item_id] = remaining
                if remaining and -remaining[0].score != best:
                    push(item_id)  # its best entry went to another item: requeue at its worth
                elif remaining:
                    match = remaining[0]
                    options[item_id] = remaining[1:]
            if match is None:
                break
            item = items[item_id]
            sessions.append(Session(day, quarter.index, match.entry, item, match.score,
                                    match.matched_words))
            taken.add(match.entry.id)
            served[item_id] += 1
            planned_per_year[year] += 1
            booked += 1
            push(item_id)
        if booked < per_quarter:
            warnings.append(_short_quarter_reason(quarter, booked, per_quarter,
                                                  entitled_per_year, bool(queue)))
    for session in sessions:
        if not session.owner.strip():
            warnings.append(f"{session.day.isoformat()}: {session.item.id} has no owner; assign "
                            "one to prepare the questions and act on the advice")
    years = sessions_by_contract_year(
        [session.day for session in used], [session.day for session in sessions],
        anchor, entitled_per_year)
    return Schedule(tuple(sessions), tuple(periods), tuple(years), tuple(warnings))


def _short_quarter_reason(quarter: Quarter, booked: int, wanted: int, entitled: int | None,
                          candidates_left: bool) -> str:
    span = f"{quarter.start.isoformat()} to {quarter.end.isoformat()}"
    count = "no session" if booked == 0 else f"{booked} of {wanted} sessions"
    if entitled is not None and candidates_left:
        return (f"{count} from {span}: the contract year's {entitled} entitled sessions "
                "are already used or planned")
    return (f"{count} from {span}: no backlog item has a matching catalogue entry left; "
            "add backlog items or catalogue entries")


def sessions_by_contract_year(used: Iterable[date], planned: Iterable[date], anchor: date,
                              entitled_per_year: int | None) -> list[YearUsage]:
    """Used and planned sessions per contract year (anniversaries of ``anchor``), every year
    from the first to the last one holding a session."""
    used_count = Counter(contract_year_start(anchor, day) for day in used)
    planned_count = Counter(contract_year_start(anchor, day) for day in planned)
    starts = sorted(set(used_count) | set(planned_count))
    if not starts:
        return []
    years = []
    year = starts[0]
    while year <= starts[-1]:
        following = add_months(anchor, 12 * ((_months_between(anchor, year) // 12) + 1))
        years.append(YearUsage(year, following - timedelta(days=1), entitled_per_year,
                               used_count[year], planned_count[year]))
        year = following
    return years
