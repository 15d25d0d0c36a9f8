"""Partner incentive programs: run a program over partner activity (and lock approved periods),
diagnose a program before launch, replay it over past periods.

Locks. Until the workspace database holds them, a locked period is a JSON file
``<lock dir>/<program id>/<start>..<end>.json`` (the lock dir defaults to ``.creditops-locks``
next to the program file) holding:
- ``inputs``: fingerprints of the program file (SHA-256 of its bytes), of the partner list
  (SHA-256 of the partners, canonical) and of the events dated up to the period end (MD5 over
  every such event, canonical and independent of row order);
- ``reversed_deals``: the deals known reversed on or before the period end when it was locked;
- ``late_clawbacks``: reversals of earlier locked periods that this period clawed back;
- ``result``: the result document, with each partner's metrics.
A locked period is returned from its lock, never recomputed silently. ``recompute`` replays it
and checks the replay matches, refusing when its inputs changed. A reversal recorded after the
lock, even one dated inside the locked period, becomes a clawback of the next period computed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Protocol

from creditops.adapters.partner_engine import ColumnarEvents
from creditops.adapters.partner_events import (
    EventsFile,
    inspect_events,
    read_events,
)
from creditops.adapters.partner_files import (
    load_program,
    read_partners,
    segment_attribute_problems,
)
from creditops.adapters.partner_reports import result_document, result_from_document
from creditops.core.errors import InputError, Problem
from creditops.core.incentive_diagnostics import (
    Diagnosis,
    Simulation,
    diagnose,
    replay,
    replay_periods,
)
from creditops.core.incentive_payouts import (
    ProgramResult,
)
from creditops.core.incentive_reference import (
    Event,
    LockedPeriod,
    Partner,
    Reversal,
    check_events,
    evaluate,
    late_reversals,
)
from creditops.core.incentives import DEAL_CLOSED, DEAL_REVERSED, Period, Program

Engine = Literal["columnar", "reference"]
ENGINES: tuple[Engine, ...] = ("columnar", "reference")
LOCK_DIR_NAME = ".creditops-locks"
LOCK_FORMAT = "creditops-partner-lock/1"


@dataclass(frozen=True)
class Inputs:
    program: Program
    program_path: Path
    partners: list[Partner]
    partners_path: Path
    events: EventsFile


def load_inputs(program_path: Path, partners_path: Path, events_path: Path) -> Inputs:
    """The program, the partners and the events file, checked against each other."""
    program = load_program(program_path)
    partners = read_partners(partners_path)
    problems = segment_attribute_problems(program, partners, str(program_path))
    if problems:
        raise InputError(problems)
    return Inputs(program, program_path, partners, partners_path, inspect_events(events_path))


class Evaluator(Protocol):
    def evaluate(self, program: Program,
                 late_reversals: Collection[str] = frozenset()) -> ProgramResult: ...

    def reversals(self) -> list[Reversal]: ...

    def date_span(self) -> tuple[date, date] | None: ...

    def digest(self, through: date) -> str: ...


class ReferenceEvaluator:
    """The row-by-row reference behind the same interface as the columnar engine."""

    def __init__(self, inputs: Inputs) -> None:
        program = inputs.program
        self._partners = inputs.partners
        self._events = read_events(inputs.events, program.timezone, program.known_kinds)
        check_events(self._events, {partner.partner_id for partner in inputs.partners},
                     inputs.events.source)

    def evaluate(self, program: Program,
                 late_reversals: Collection[str] = frozenset()) -> ProgramResult:
        return evaluate(program, self._partners, self._events, late_reversals)

    def reversals(self) -> list[Reversal]:
        deals = {event.id: event for event in reversed(self._events)
                 if event.kind == DEAL_CLOSED}
        found = [Reversal(event.ref, deals[event.ref].partner_id, deals[event.ref].on, event.on)
                 for event in self._events if event.kind == DEAL_REVERSED and event.ref]
        return sorted(found, key=lambda reversal: reversal.deal_id)

    def date_span(self) -> tuple[date, date] | None:
        days = [event.on for event in self._events]
        return (min(days), max(days)) if days else None

    def digest(self, through: date) -> str:
        return events_digest(self._events, through)


def events_digest(events: list[Event], through: date) -> str:
    """The same fingerprint as the columnar engine's ``digest``."""
    lines: dict[str, list[str]] = {}
    for event in events:
        if event.on > through:
            continue
        amount = (format(event.amount.quantize(Decimal("0.0001")), "f")
                  if event.kind == DEAL_CLOSED and event.amount is not None else "")
        lines.setdefault(event.partner_id, []).append("|".join(
            (event.id, event.partner_id, event.on.isoformat(), event.kind, amount,
             event.ref or "")))
    parts = [f"{partner_id}:{_md5(chr(10).join(sorted(rows)))}"
             for partner_id, rows in sorted(lines.items())]
    return _md5("\n".join(parts))


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


@contextmanager
def open_evaluator(inputs: Inputs, engine: Engine = "columnar") -> Iterator[Evaluator]:
    if engine == "reference":
        yield ReferenceEvaluator(inputs)
        return
    with ColumnarEvents(inputs.events, inputs.program, inputs.partners) as columnar:
        yield columnar


# --- run -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunOutcome:
    result: ProgramResult
    notes: tuple[str, ...]
    lock_path: Path | None = None
    from_lock: bool = False


def run_program(program_path: Path, partners_path: Path, events_path: Path, *,
                lock: bool = False, recompute: bool = False, lock_dir: Path | None = None,
                engine: Engine = "columnar") -> RunOutcome:
    """Payouts for the program's period. A locked period comes from its lock; ``lock`` locks
    the period once computed; ``recompute`` replays a locked period to check it."""
    inputs = load_inputs(program_path, partners_path, events_path)
    program = inputs.program
    directory = lock_dir if lock_dir is not None else program_path.parent / LOCK_DIR_NAME
    path = lock_path(directory, program.id, program.period)
    existing = _read_lock(path) if path.exists() else None
    with open_evaluator(inputs, engine) as evaluator:
        if existing is not None:
            return _locked_run(inputs, evaluator, existing, path, recompute)
        locks = read_locks(directory)
        late = late_reversals([item.locked for item in locks], evaluator.reversals(),
                              program.period)
        result = evaluator.evaluate(program, late)
        notes = []
        if recompute:
            notes.append(f"period {program.period} of {program.id!r} is not locked: computed")
        if late:
            notes.append(f"{len(late)} reversal(s) of deals from locked periods were recorded "
                         f"after the lock ({', '.join(sorted(late)[:10])}): clawed back in "
                         "this period")
        if not lock:
            return RunOutcome(result, tuple(notes))
        _write_lock(path, inputs, evaluator, result, late)
        notes.append(f"locked period {program.period} of {program.id!r}: {path}")
        return RunOutcome(result, tuple(notes), path)


def _locked_run(inputs: Inputs, evaluator: Evaluator, existing: StoredLock, path: Path,
                recompute: bool) -> RunOutcome:
    program = inputs.program
    changed = [name for name, value in fingerprints(inputs, evaluator).items()
               if existing.inputs.get(name) != value]
    since = f"locked on {existing.locked_at}"
    if recompute:
        if changed:
            raise InputError(Problem(
                f"period {program.period} of {program.id!r} is {since} and its inputs changed "
                f"since ({', '.join(changed)}): a locked period is never recomputed. Later "
                "reversals of its deals are clawed back in the period they are recorded in; "
                "delete the lock file to reopen the period on purpose.", source=str(path)))
        result = evaluator.evaluate(program, existing.locked.late_clawbacks)
        if result_document(result, metrics=True) != existing.document:
            raise InputError(Problem(
                f"recomputing period {program.period} of {program.id!r} from the same inputs "
                "gives a different result than its lock: the lock stands; compare with "
                "--json", source=str(path)))
        return RunOutcome(result, (f"period {program.period} is {since}: recomputed from the "
                                   "same inputs, the result matches the lock",), path, True)
    notes = [f"period {program.period} of {program.id!r} is {since}: the result comes from "
             f"the lock {path}"]
    if changed:
        notes.append(f"its inputs changed since ({', '.join(changed)}); the locked result "
                     "stands, and reversals recorded since are clawed back in the next period "
                     "computed")
    return RunOutcome(result_from_document(existing.document), tuple(notes), path, True)


def fingerprints(inputs: Inputs, evaluator: Evaluator) -> dict[str, str]:
    partners = json.dumps([[partner.partner_id, partner.name, sorted(partner.attributes.items())]
                           for partner in sorted(inputs.partners,
                                                 key=lambda item: item.partner_id)])
    return {
        "program": hashlib.sha256(inputs.program_path.read_bytes()).hexdigest(),
        "partners": hashlib.sha256(partners.encode("utf-8")).hexdigest(),
        "events": evaluator.digest(inputs.program.period.end),
    }


# --- lock files ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredLock:
    path: Path
    program: str
    locked_at: str
    inputs: dict[str, str]
    locked: LockedPeriod
    document: dict[str, Any]


def lock_path(directory: Path, program_id: str, period: Period) -> Path:
    folder = re.sub(r"[^A-Za-z0-9._-]", "_", program_id).strip(".") or "program"
    return directory / folder / f"{period.start.isoformat()}..{period.end.isoformat()}.json"


def read_locks(directory: Path) -> list[StoredLock]:
    if not directory.is_dir():
        return []
    return [_read_lock(path) for path in sorted(directory.glob("*/*.json"))]


def _read_lock(path: Path) -> StoredLock:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != LOCK_FORMAT:
            raise ValueError(f"not a {LOCK_FORMAT} file")
        period = Period(date.fromisoformat(data["period"]["start"]),
                        date.fromisoformat(data["period"]["end"]))
        return StoredLock(path, data["program"], data["locked_at"], dict(data["inputs"]),
                          LockedPeriod(period, frozenset(data["reversed_deals"]),
                                       frozenset(data["late_clawbacks"])),
                          data["result"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InputError(Problem(f"unreadable lock file: {error}", source=str(path))) from None


def _write_lock(path: Path, inputs: Inputs, evaluator: Evaluator, result: ProgramResult,
                late: frozenset[str]) -> None:
    period = inputs.program.period
    reversed_deals = sorted(reversal.deal_id for reversal in evaluator.reversals()
                            if reversal.reversed_on <= period.end)
    data = {
        "format": LOCK_FORMAT,
        "program": inputs.program.id,
        "version": inputs.program.version,
        "period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
        "locked_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "inputs": fingerprints(inputs, evaluator),
        "reversed_deals": reversed_deals,
        "late_clawbacks": sorted(late),
        "result": result_document(result, metrics=True),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    temporary.replace(path)


# --- diagnose and simulate -----------------------------------------------------------------


def diagnose_program(program_path: Path, partners_path: Path, events_path: Path, *,
                     engine: Engine = "columnar") -> Diagnosis:
    """The program's flaws in numbers, from the partners' history (the program's baseline
    period, against its own baseline)."""
    inputs = load_inputs(program_path, partners_path, events_path)
    program = inputs.program
    with open_evaluator(inputs, engine) as evaluator:
        history = evaluator.evaluate(program.with_period(program.baseline_period))
    return diagnose(program, history)


def simulate_program(program_path: Path, partners_path: Path, events_path: Path, *,
                     periods: int, through: date | None = None,
                     engine: Engine = "columnar") -> Simulation:
    """The program replayed over the last ``periods`` periods of data before it starts (or
    ending on ``through``)."""
    if periods < 1:
        raise InputError(Problem(f"--periods must be at least 1 (got {periods})",
                                 column="--periods"))
    inputs = load_inputs(program_path, partners_path, events_path)
    program = inputs.program
    with open_evaluator(inputs, engine) as evaluator:
        span = evaluator.date_span()
        if span is None:
            raise InputError(Problem("the events file has no event to replay",
                                     source=inputs.events.source))
        windows = replay_periods(program.period, periods, through or span[1])
        results = [evaluator.evaluate(program.with_period(window)) for window in windows]
    return replay(program, results)
