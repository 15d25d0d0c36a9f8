"""The support-tier catalogue and the advisor profile (YAML), validated strictly.

Every figure of the catalogue carries its source and a confidence; the low or unknown ones become
assumptions the advisor lists for the user to check. A profile may override any figure with its
contract's own terms (``tier_overrides``). Numbers are exact decimals; errors name the file, the
line and the key.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from creditops.adapters.yamlio import YamlDocument, load_yaml, parse_yaml
from creditops.core.advisor import SEVERITIES, CsmRule, Profile, Tier
from creditops.core.errors import InputError, Problem
from creditops.core.numbers import parse_decimal

DATA_PACKAGE = "creditops.data.success"
TIER_CATALOGUE = "tiers.yaml"
LOW_CONFIDENCE = ("low", "unknown")


def _non_negative(value: object) -> Decimal:
    number = parse_decimal(value)
    if number < 0:
        raise ValueError(f"must not be negative (got {number})")
    return number


def _share(value: object) -> Decimal:
    number = parse_decimal(value)
    if not 0 <= number <= 1:
        raise ValueError(f"must be a share between 0 and 1, 0.3 for 30% (got {number})")
    return number


Amount = Annotated[Decimal, BeforeValidator(_non_negative)]
Share = Annotated[Decimal, BeforeValidator(_share)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------------------------------------
# Tier catalogue


Confidence = Literal["high", "medium", "low", "unknown", "user"]


class FigureModel(_Strict):
    value: Decimal | Literal["unlimited"] | None
    source: str = ""
    confidence: Confidence = "user"
    note: str = ""


def _figure(value: object) -> object:
    """A plain number (or ``unlimited``) is a figure the user gives: confidence ``user``."""
    if isinstance(value, Mapping):
        if "value" in value and value["value"] not in (None, "unlimited"):
            return {**value, "value": _non_negative(value["value"])}
        return value
    if value == "unlimited":
        return {"value": value}
    return {"value": _non_negative(value)}


Figure = Annotated[FigureModel, BeforeValidator(_figure)]


class SeverityFigures(_Strict):
    sev1: Figure
    sev2: Figure
    sev3: Figure
    sev4: Figure


class TierModel(_Strict):
    name: str = Field(min_length=1)
    summary: str = ""
    includes: list[str] = []
    legacy: bool = False
    price_pct: Figure
    response_hours: SeverityFigures
    accelerators_per_year: Figure
    admin_assist_hours_per_month: Figure
    other_value: Figure = FigureModel(value=Decimal(0), source="none stated", confidence="user")


class CsmRuleModel(_Strict):
    licence_above: Figure
    tier: str
    tier_price_at_least: Figure
    source: str = ""
    confidence: Confidence = "user"


class TierCatalogueModel(_Strict):
    name: str = ""
    note: str = ""
    baseline: str
    upgrade_from: str = "Premier"
    upgrade_to: str = "Signature"
    csm_rule: CsmRuleModel
    tiers: list[TierModel] = Field(min_length=1)


@dataclass(frozen=True)
class Assumption:
    """A figure the user should check: low confidence or unknown."""

    tier: str
    key: str
    value: str
    confidence: str
    source: str


@dataclass(frozen=True)
class TierCatalogue:
    source: str
    baseline: str
    upgrade_from: str
    upgrade_to: str
    csm_rule: CsmRule
    tiers: tuple[TierModel, ...]

    def names(self) -> list[str]:
        return [tier.name for tier in self.tiers]


def shipped_tier_catalogue_text() -> str:
    return resources.files(DATA_PACKAGE).joinpath(TIER_CATALOGUE).read_text(encoding="utf-8")


def load_tier_catalogue(path: Path | None = None) -> TierCatalogue:
    """The user's tier catalogue, or the shipped one when ``path`` is None."""
    if path is None:
        document = parse_yaml(shipped_tier_catalogue_text(), f"shipped {TIER_CATALOGUE}")
    else:
        document = load_yaml(path)
    model: TierCatalogueModel = document.validate(TierCatalogueModel)
    names = [tier.name for tier in model.tiers]
    problems = [document.problem(("tiers", index, "name"), f"tier {tier.name!r} appears more "
                                 "than once")
                for index, tier in enumerate(model.tiers) if names.index(tier.name) != index]
    references = ((("baseline",), model.baseline), (("csm_rule", "tier"), model.csm_rule.tier),
                  (("upgrade_from",), model.upgrade_from), (("upgrade_to",), model.upgrade_to))
    for where, name in references:
        if name not in names:
            problems.append(document.problem(where, f"unknown tier {name!r} (tiers: "
                                             f"{', '.join(names)})"))
    for index, tier in enumerate(model.tiers):
        problems.extend(
            document.problem(("tiers", index, *key.split(".")),
                             "'unlimited' is only for accelerators_per_year")
            for key, figure in _tier_figures(tier)
            if figure.value == "unlimited" and key != "accelerators_per_year"
        )
    for key, figure in (("licence_above", model.csm_rule.licence_above),
                        ("tier_price_at_least", model.csm_rule.tier_price_at_least)):
        if not isinstance(figure.value, Decimal):
            problems.append(document.problem(("csm_rule", key), "needs an amount"))
    if problems:
        raise InputError(problems)
    rule = CsmRule(_amount(model.csm_rule.licence_above), model.csm_rule.tier,
                   _amount(model.csm_rule.tier_price_at_least))
    return TierCatalogue(document.source, model.baseline, model.upgrade_from, model.upgrade_to,
                         rule, tuple(model.tiers))


def _amount(figure: FigureModel) -> Decimal:
    assert isinstance(figure.value, Decimal)
    return figure.value


def _tier_figures(tier: TierModel) -> Iterator[tuple[str, FigureModel]]:
    yield "price_pct", tier.price_pct
    for sev in SEVERITIES:
        yield f"response_hours.{sev}", getattr(tier.response_hours, sev)
    yield "accelerators_per_year", tier.accelerators_per_year
    yield "admin_assist_hours_per_month", tier.admin_assist_hours_per_month
    yield "other_value", tier.other_value


# ---------------------------------------------------------------------------------------------
# Advisor profile


class SeverityAmounts(_Strict):
    sev1: Amount
    sev2: Amount
    sev3: Amount
    sev4: Amount


class SeverityShares(_Strict):
    sev1: Share
    sev2: Share
    sev3: Share
    sev4: Share


class ResponseOverrides(_Strict):
    sev1: Amount | None = None
    sev2: Amount | None = None
    sev3: Amount | None = None
    sev4: Amount | None = None


class TierOverride(_Strict):
    price_pct: Amount | None = None
    response_hours: ResponseOverrides | None = None
    accelerators_per_year: Amount | Literal["unlimited"] | None = None
    admin_assist_hours_per_month: Amount | None = None
    other_value: Amount | None = None


class ProfileModel(_Strict):
    currency: str = Field(default="USD", min_length=1)
    current_tier: str | None = None
    net_licence_annual: Amount
    downtime_cost_per_hour: Amount
    incidents_per_year: SeverityAmounts
    impact_share: SeverityShares
    consulting_rate_per_hour: Amount
    accelerator_hours: Amount
    accelerators_used_per_year: Amount
    admin_assist_hours_used_per_month: Amount
    admin_rate_per_hour: Amount
    fte_cost_annual: Amount
    tier_overrides: dict[str, TierOverride] = {}


@dataclass(frozen=True)
class AdvisorInputs:
    """A profile checked against a catalogue: the tiers to compare, with overrides applied."""

    profile: Profile
    current_tier: str | None
    tiers: tuple[Tier, ...]
    all_tiers: Mapping[str, Tier | None]  # None: a figure is unknown, the tier can't be costed
    assumptions: tuple[Assumption, ...]
    catalogue: TierCatalogue


def load_profile(path: Path, catalogue: TierCatalogue) -> AdvisorInputs:
    """Reads a profile and builds the tiers to compare: every current tier, plus a legacy tier
    when it is the profile's ``current_tier`` (an older contract)."""
    document = load_yaml(path)
    model: ProfileModel = document.validate(ProfileModel)
    names = catalogue.names()
    known = f"(tiers: {', '.join(names)})"
    problems = []
    if model.current_tier is not None and model.current_tier not in names:
        problems.append(document.problem(("current_tier",),
                                         f"unknown tier {model.current_tier!r} {known}"))
    problems.extend(document.problem(("tier_overrides", name), f"unknown tier {name!r} {known}")
                    for name in model.tier_overrides if name not in names)
    if problems:
        raise InputError(problems)
    built: dict[str, Tier | None] = {}
    assumptions: list[Assumption] = []
    compared: list[Tier] = []
    for tier_model in catalogue.tiers:
        figures = dict(_tier_figures(tier_model))
        _apply_overrides(figures, model.tier_overrides.get(tier_model.name))
        tier = _tier_from(tier_model.name, figures)
        built[tier_model.name] = tier
        if tier_model.legacy and tier_model.name != model.current_tier:
            continue
        if tier is None:
            raise InputError(_unknown_figures(document, tier_model.name, figures, catalogue))
        compared.append(tier)
        assumptions.extend(
            Assumption(tier_model.name, key, _figure_text(figure), figure.confidence,
                       figure.source)
            for key, figure in figures.items() if figure.confidence in LOW_CONFIDENCE
        )
    return AdvisorInputs(_profile_from(model), model.current_tier, tuple(compared), built,
                         tuple(assumptions), catalogue)


def _unknown_figures(document: YamlDocument, name: str, figures: Mapping[str, FigureModel],
                     catalogue: TierCatalogue) -> Problem:
    unknown = [key for key, figure in figures.items() if figure.value is None]
    return document.problem(
        ("current_tier",),
        f"tier {name!r} has no value for {', '.join(unknown)} in the tier catalogue "
        f"({catalogue.source}); give them under tier_overrides.{name} or in your own "
        "--tiers file")


def _profile_from(model: ProfileModel) -> Profile:
    return Profile(
        net_licence_annual=model.net_licence_annual,
        downtime_cost_per_hour=model.downtime_cost_per_hour,
        incidents_per_year=model.incidents_per_year.model_dump(),
        impact_share=model.impact_share.model_dump(),
        consulting_rate_per_hour=model.consulting_rate_per_hour,
        accelerator_hours=model.accelerator_hours,
        accelerators_used_per_year=model.accelerators_used_per_year,
        admin_assist_hours_used_per_month=model.admin_assist_hours_used_per_month,
        admin_rate_per_hour=model.admin_rate_per_hour,
        fte_cost_annual=model.fte_cost_annual,
        currency=model.currency,
    )


def _apply_overrides(figures: dict[str, FigureModel], override: TierOverride | None) -> None:
    if override is None:
        return
    given = override.model_dump(exclude_none=True)
    responses = given.pop("response_hours", {})
    for key, value in given.items():
        figures[key] = FigureModel(value=value, source="profile tier_overrides",
                                   confidence="user")
    for sev, value in responses.items():
        figures[f"response_hours.{sev}"] = FigureModel(
            value=value, source="profile tier_overrides", confidence="user")


def _tier_from(name: str, figures: Mapping[str, FigureModel]) -> Tier | None:
    values = {key: figure.value for key, figure in figures.items()}
    if any(value is None for value in values.values()):
        return None
    numeric = {key: value for key, value in values.items() if isinstance(value, Decimal)}
    accelerators = values["accelerators_per_year"]
    return Tier(
        name=name,
        price_pct=numeric["price_pct"],
        response_hours={sev: numeric[f"response_hours.{sev}"] for sev in SEVERITIES},
        accelerators_per_year=accelerators if isinstance(accelerators, Decimal) else None,
        admin_assist_hours_per_month=numeric["admin_assist_hours_per_month"],
        other_value=numeric["other_value"],
    )


def _figure_text(figure: FigureModel) -> str:
    return "unknown" if figure.value is None else f"{figure.value}"
