"""The true-up clause checklist: seven verification points and five pitfalls.

Every item is phrased as a protection the contract should contain, so one reading holds for all
twelve: ``present`` (the contract has it), ``missing`` (it does not, or a sentence says the
opposite: for a pitfall, the contract falls into it) and ``unclear`` (the wording leaves it open,
or sentences contradict each other). Pattern rules over the clause text propose the marks and
quote the sentences they rely on; the user has the last word.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from creditops.core.trueup import Clause, Pricing, Scenario, Timing, model_clause, model_scenario


class Mark(StrEnum):
    PRESENT = "present"
    MISSING = "missing"
    UNCLEAR = "unclear"


class ItemKind(StrEnum):
    POINT = "point"
    PITFALL = "pitfall"


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    kind: ItemKind
    title: str
    protection: str  # what the contract should say


CHECKLIST: tuple[ChecklistItem, ...] = (
    ChecklistItem("pricing_basis", ItemKind.POINT, "Pricing basis defined",
                  "The price of true-up additions is defined explicitly, not left to the vendor."),
    ChecklistItem("discount_preservation", ItemKind.POINT, "Discount preservation documented",
                  "Additions receive the negotiated discount."),
    ChecklistItem("timing", ItemKind.POINT, "Timing aligned with cash flow",
                  "When true-ups settle (monthly, quarterly, annually, at renewal) is stated."),
    ChecklistItem("coterm", ItemKind.POINT, "Co-term treatment",
                  "Additions co-term with the master agreement instead of fragmenting it."),
    ChecklistItem("midterm_options", ItemKind.POINT, "Mid-term options documented",
                  "Restructuring, swaps or reductions are available as alternatives to true-up."),
    ChecklistItem("growth_modelling", ItemKind.POINT, "Growth modelling",
                  "The exposure is quantified under growth scenarios."),
    ChecklistItem("renewal_preparation", ItemKind.POINT, "Renewal preparation",
                  "Renewal pricing and the use of the true-up history at renewal are addressed."),
    ChecklistItem("ambiguous_pricing", ItemKind.PITFALL, "Ambiguous pricing basis",
                  "No bare 'then-current pricing': discount treatment and basis are specified."),
    ChecklistItem("coterm_silence", ItemKind.PITFALL, "Co-term silence",
                  "The contract says whether additions co-term."),
    ChecklistItem("ramp_interaction", ItemKind.PITFALL, "Ramp-interaction silence",
                  "How additions interact with ramp commitments is explicit."),
    ChecklistItem("midterm_gaps", ItemKind.PITFALL, "Mid-term modification gaps",
                  "Mid-term modification options and their conditions are specified."),
    ChecklistItem("audit_cooperation", ItemKind.PITFALL, "Audit cooperation gaps",
                  "The vendor provides the usage data needed to track true-ups."),
)


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns), re.IGNORECASE)


ADDITIONS = _any(r"\btrue[- ]?ups?\b", r"\badditional\s+(?:licen[cs]e|subscription|user|seat|"
                 r"quantit|unit)", r"\badd[- ]?ons?\b", r"\badded\s+(?:licen|subscri|user|seat)",
                 r"\bincremental\b", r"\badditions?\b", r"\bexpansion\b",
                 r"\bexcess\s+(?:users?|licen|seats?|usage|quantit)", r"\boverages?\b")
THEN_CURRENT = _any(r"then[- ]current", r"prevailing\s+(?:price|rate|list)",
                    r"standard\s+(?:price|pricing|rates?)\b", r"at\s+salesforce'?s\s+discretion")
EXPLICIT_PRICE = _any(r"original(?:ly)?\s+(?:contract(?:ed)?\s+)?(?:rate|price|pricing|unit)",
                      r"same\s+(?:unit\s+|per[- ]\w+\s+)?(?:price|rate|pricing)",
                      r"(?:price|rate|fee)s?\s+(?:as\s+)?(?:set\s+(?:out|forth)|specified|stated)"
                      r"\s+in", r"\bfixed\s+(?:unit\s+)?(?:price|rate)", r"\$\s?\d",
                      r"(?:less|minus)\s+(?:the\s+)?(?:\d+(?:\.\d+)?\s?%|discount)",
                      r"\bnot\s+(?:to\s+)?exceed", r"\bcapped\b", r"\bcap\s+of\b")
DISCOUNT = _any(r"\bdiscount")
DISCOUNT_KEPT = _any(r"\b(?:appl(?:y|ies)|preserv|maintain|honou?r|extend|same|carr(?:y|ies))")
DISCOUNT_WEAK = _any(r"\breduced\b", r"\blower\b", r"\bdiscretion", r"\bmay\b", r"\bsubject to\b")
LIST_ONLY = _any(r"\bat\s+(?:the\s+)?(?:then[- ]current\s+)?list\s+price")
SETTLEMENT = _any(r"\bmonthly\b", r"\bquarterly\b", r"\bannual(?:ly)?\b", r"\banniversary",
                  r"\beach\s+(?:year|quarter|month)\b", r"\b(?:at|upon)\s+renewal\b",
                  r"\bwithin\s+\w+\s*(?:\(\d+\)\s*)?days\b", r"\bin\s+arrears\b")
VAGUE_TIMING = _any(r"\bperiodic(?:ally)?\b", r"\bfrom\s+time\s+to\s+time\b", r"\bas\s+needed\b",
                    r"\bat\s+(?:any\s+time|salesforce'?s\s+discretion)")
COTERM = _any(r"\bco-?term(?:inous|ed|s)?\b", r"\bco-?terminous\b",
              r"\b(?:end|expire|terminate)s?\s+(?:on|at|with)\s+the\s+same\s+(?:date|day|time)",
              r"\bpro[- ]?rat(?:a|ed)\b",
              r"\bend\s+date\s+of\s+the\s+(?:master|current|existing|initial)")
COTERM_MAYBE = _any(r"\b(?:may|can|might)\s+(?:be\s+)?co-?term")
OWN_TERM = _any(r"\b(?:own|separate|independent)\s+(?:\d+[- ]month\s+|subscription\s+)?term",
                r"\b(?:twelve|12)\s*(?:\(12\)\s*)?months?\s+from\s+(?:the\s+)?(?:date|start)")
MIDTERM = _any(r"\bmid[- ]?term\b", r"\bduring\s+the\s+(?:subscription\s+)?term\b")
MODIFY = _any(r"\bmodif", r"\brestructur", r"\bamend", r"\bswap", r"\bexchange", r"\breduc",
              r"\bconvert", r"\brenegotiat", r"\bupgrade", r"\bdowngrade", r"\bsubstitut")
LOCKED = _any(r"\bnon-?cancell?able\b", r"\b(?:may|can|shall)\s+not\s+be\s+(?:reduced|decreased|"
              r"cancell?ed)", r"\bcannot\s+be\s+(?:reduced|decreased|cancell?ed)",
              r"\bno\s+(?:reduction|decrease)s?\b")
FORECAST = _any(r"\bforecast", r"\bgrowth\s+(?:plan|projection|model|scenario)",
                r"\b(?:expected|anticipated|projected)\s+(?:headcount|growth|users?)")
RENEWAL = _any(r"\brenew(?:al|s|ed)?\b")
RENEWAL_PROTECTED = _any(r"\bnot\s+(?:to\s+)?exceed", r"\bcap(?:ped)?\b", r"\bprice\s+protection",
                         r"\bno\s+(?:more|greater)\s+than", r"\buplift\s+of\b",
                         r"\bincrease\s+(?:of|by)\s+(?:no\s+more\s+than|at\s+most|\d)",
                         r"\btrue[- ]?up\s+history")
RENEWAL_AT_LIST = _any(r"\brenew\w*\s+(?:\w+\s+){0,4}(?:at\s+)?(?:salesforce'?s\s+)?then[- ]"
                       r"current\s+(?:list\s+)?(?:price|pricing|rates?)")
RAMP = _any(r"\bramp(?:s|ed|ing)?\b", r"\bstep[- ]up\b")
AUDIT = _any(r"\b(?:usage|consumption|licen[cs]e|subscription)\s+(?:data|reports?|records|"
             r"statements?|information)\b", r"\baudit")
AUDIT_HELP = _any(r"\bprovide", r"\bmake\s+available", r"\bdeliver", r"\baccess", r"\bshare",
                  r"\bcooperat", r"\bassist", r"\bupon\s+request")


@dataclass(frozen=True)
class Evidence:
    sentence: str
    rule: str


@dataclass(frozen=True)
class Exposure:
    """What a silence could cost in the scenario's model (None: the model cannot price it)."""

    amount: Decimal | None
    basis: str


@dataclass(frozen=True)
class ItemMark:
    item: ChecklistItem
    mark: Mark
    reason: str
    evidence: tuple[Evidence, ...] = ()
    exposure: Exposure | None = None


_SENTENCE_END = re.compile(
    r"(?:^|\n)\s*(?:[-*•]|\d+[.)])\s+|(?<=[.;!?])\s+(?=[A-Z0-9(\"'])|\n\s*\n")


def split_sentences(text: str) -> list[str]:
    """Sentences and list items of a clause text, whitespace collapsed."""
    pieces = _SENTENCE_END.split(text)
    return [" ".join(piece.split()) for piece in pieces if piece and piece.strip()]


@dataclass(frozen=True)
class _Findings:
    """Sentences found for one item: supporting, contradicting and ambiguous."""

    present: tuple[Evidence, ...] = ()
    against: tuple[Evidence, ...] = ()
    vague: tuple[Evidence, ...] = ()


Patterns = tuple[re.Pattern[str], ...]
Rule = tuple[str, str, Patterns, Patterns]


def _find(sentences: Sequence[str], rules: Sequence[Rule]) -> _Findings:
    """``rules``: (outcome, name, patterns that must all match, patterns that must not match)."""
    found: dict[str, list[Evidence]] = {"present": [], "against": [], "vague": []}
    for sentence in sentences:
        for outcome, name, required, excluded in rules:
            if all(p.search(sentence) for p in required) and not any(
                    p.search(sentence) for p in excluded):
                found[outcome].append(Evidence(sentence, name))
    return _Findings(tuple(found["present"]), tuple(found["against"]), tuple(found["vague"]))


def _resolve(item: ChecklistItem, findings: _Findings, silent: tuple[Mark, str]) -> ItemMark:
    if findings.against and findings.present:
        return ItemMark(item, Mark.UNCLEAR, "sentences point both ways",
                        findings.present + findings.against)
    if findings.against:
        return ItemMark(item, Mark.MISSING, "a sentence works against it", findings.against)
    if findings.present:
        return ItemMark(item, Mark.PRESENT, "found", findings.present)
    if findings.vague:
        return ItemMark(item, Mark.UNCLEAR, "the wording leaves it open", findings.vague)
    return ItemMark(item, silent[0], silent[1])


def _item(key: str) -> ChecklistItem:
    return next(item for item in CHECKLIST if item.key == key)


_PRICING_RULES = (
    ("present", "explicit price for additions", (ADDITIONS, EXPLICIT_PRICE), ()),
    ("vague", "then-current pricing without discount treatment", (ADDITIONS, THEN_CURRENT),
     (DISCOUNT, EXPLICIT_PRICE)),
)
_DISCOUNT_RULES = (
    ("present", "discount applies to additions", (ADDITIONS, DISCOUNT, DISCOUNT_KEPT),
     (DISCOUNT_WEAK,)),
    ("present", "original rate for additions", (ADDITIONS, EXPLICIT_PRICE),
     (DISCOUNT_WEAK, LIST_ONLY)),
    ("vague", "discount reduced or discretionary", (ADDITIONS, DISCOUNT, DISCOUNT_WEAK), ()),
    ("against", "additions at list price", (ADDITIONS, LIST_ONLY), (DISCOUNT,)),
)
_TIMING_RULES = (
    ("present", "settlement timing stated", (ADDITIONS, SETTLEMENT), ()),
    ("vague", "vague settlement timing", (ADDITIONS, VAGUE_TIMING), (SETTLEMENT,)),
)
_COTERM_RULES = (
    ("present", "additions co-term", (COTERM,), (COTERM_MAYBE,)),
    ("vague", "co-term optional", (COTERM_MAYBE,), ()),
    ("against", "additions run their own term", (OWN_TERM,), (COTERM,)),
)
_MIDTERM_RULES = (
    ("present", "mid-term modification", (MIDTERM, MODIFY), (LOCKED,)),
    ("against", "no reductions or changes during the term", (LOCKED,), ()),
)
_RENEWAL_RULES = (
    ("present", "renewal pricing protected", (RENEWAL, RENEWAL_PROTECTED), (RENEWAL_AT_LIST,)),
    ("against", "renewal at then-current list", (RENEWAL_AT_LIST,), ()),
)
_RAMP_RULES = (
    ("present", "additions and ramp addressed together", (RAMP, ADDITIONS), ()),
    ("vague", "ramp without additions", (RAMP,), (ADDITIONS,)),
)
_AUDIT_RULES = (("present", "usage data provided", (AUDIT, AUDIT_HELP), ()),)
_FORECAST_RULES = (("present", "growth forecast in the contract", (FORECAST,), ()),)


@dataclass(frozen=True)
class ChecklistContext:
    """What besides the clause text informs the marks."""

    scenario_name: str | None = None  # a scenario models the growth
    has_ramp: bool = False
    has_history: bool = False


def propose_marks(text: str | None,
                  context: ChecklistContext = ChecklistContext()) -> list[ItemMark]:
    """A mark for each of the twelve items; without text only what the context shows."""
    sentences = split_sentences(text) if text else []
    silence = "no sentence found" if text else "no clause text given"
    marks = [
        _resolve(_item("pricing_basis"), _find(sentences, _PRICING_RULES),
                 (Mark.MISSING, silence)),
        _resolve(_item("discount_preservation"), _find(sentences, _DISCOUNT_RULES),
                 (Mark.MISSING, silence)),
        _resolve(_item("timing"), _find(sentences, _TIMING_RULES), (Mark.MISSING, silence)),
        _resolve(_item("coterm"), _find(sentences, _COTERM_RULES), (Mark.MISSING, silence)),
        _resolve(_item("midterm_options"), _find(sentences, _MIDTERM_RULES),
                 (Mark.MISSING, silence)),
        _growth_mark(sentences, context, silence),
        _renewal_mark(sentences, context, silence),
    ]
    pricing = _find(sentences, _PRICING_RULES)
    marks += [
        # The pitfall is the bare then-current clause itself: it counts against the protection.
        _resolve(_item("ambiguous_pricing"), _Findings(pricing.present, pricing.vague),
                 (Mark.MISSING, silence)),
        _resolve(_item("coterm_silence"), _find(sentences, _COTERM_RULES),
                 (Mark.MISSING, silence)),
        _resolve(_item("ramp_interaction"), _find(sentences, _RAMP_RULES),
                 (Mark.MISSING, "the scenario has a ramp and no sentence covers it")
                 if context.has_ramp else
                 (Mark.UNCLEAR, "no ramp found: applies only to contracts with ramp commitments")),
        _resolve(_item("midterm_gaps"), _find(sentences, _MIDTERM_RULES),
                 (Mark.MISSING, silence)),
        _resolve(_item("audit_cooperation"), _find(sentences, _AUDIT_RULES),
                 (Mark.MISSING, silence)),
    ]
    return marks


def _growth_mark(sentences: Sequence[str], context: ChecklistContext, silence: str) -> ItemMark:
    item = _item("growth_modelling")
    if context.scenario_name is not None:
        return ItemMark(item, Mark.PRESENT, f"modelled in scenario {context.scenario_name!r}")
    return _resolve(item, _find(sentences, _FORECAST_RULES), (Mark.MISSING, silence))


def _renewal_mark(sentences: Sequence[str], context: ChecklistContext, silence: str) -> ItemMark:
    item = _item("renewal_preparation")
    silent = ((Mark.PRESENT, "a true-up history is recorded for the renewal")
              if context.has_history else (Mark.MISSING, silence))
    return _resolve(item, _find(sentences, _RENEWAL_RULES), silent)


# --- Exposure in money ---------------------------------------------------------------------------

_NOT_MODELLED = "not priced by the true-up model"


def clause_exposures(scenario: Scenario, clause: Clause) -> dict[str, Exposure]:
    """For each item, what the vendor-favourable reading of a silence costs over the clause as
    modelled: the difference in true-up cost over the term (never below zero)."""

    def cost(variant: Clause) -> Decimal:
        return model_clause(scenario, variant).figures.trueup_total

    base = cost(clause)
    at_list = cost(replace(clause, pricing=Pricing.LIST_NO_DISCOUNT, cap=None)) - base
    worst_timing = max(cost(replace(clause, timing=timing, backbill=True)) for timing in Timing)
    own_term = cost(replace(clause, coterm=False)) - base
    result = model_scenario(scenario)
    pricing = Exposure(max(at_list, Decimal(0)),
                       "additions at then-current list without discount")
    coterm_basis = ("additions on their own 12-month terms" if own_term > 0 else
                    "own 12-month terms cost no more within the model, but fragment the "
                    "contract into separate end dates")
    coterm = Exposure(max(own_term, Decimal(0)), coterm_basis)
    return {
        "pricing_basis": pricing,
        "discount_preservation": pricing,
        "ambiguous_pricing": pricing,
        "timing": Exposure(max(worst_timing - base, Decimal(0)),
                           "the costliest settlement timing, back-billed"),
        "coterm": coterm,
        "coterm_silence": coterm,
        "growth_modelling": Exposure(result.spread,
                                     f"spread between clauses {result.best.clause.id} and "
                                     f"{result.worst.clause.id} of the scenario"),
        "midterm_options": Exposure(None, _NOT_MODELLED),
        "midterm_gaps": Exposure(None, _NOT_MODELLED),
        "renewal_preparation": Exposure(None, "see `creditops uplift`"),
        "ramp_interaction": Exposure(None, _NOT_MODELLED),
        "audit_cooperation": Exposure(None, _NOT_MODELLED),
    }


def attach_exposures(marks: Sequence[ItemMark],
                     exposures: Mapping[str, Exposure]) -> list[ItemMark]:
    """Exposure next to every item that is not present."""
    return [replace(mark, exposure=exposures.get(mark.item.key))
            if mark.mark is not Mark.PRESENT else mark for mark in marks]
