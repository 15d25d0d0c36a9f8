"""Builders for success-plan tests: a profile and tiers with round numbers."""

from __future__ import annotations

from decimal import Decimal

from creditops.core.advisor import SEVERITIES, CsmRule, Profile, Tier

D = Decimal


def per_sev(*values: str) -> dict[str, Decimal]:
    return {sev: D(value) for sev, value in zip(SEVERITIES, values, strict=True)}


def profile(**changes: object) -> Profile:
    fields: dict[str, object] = {
        "net_licence_annual": D("1000000"),
        "downtime_cost_per_hour": D("1000"),
        "incidents_per_year": per_sev("2", "10", "20", "30"),
        "impact_share": per_sev("1", "0.5", "0.1", "0"),
        "consulting_rate_per_hour": D("200"),
        "accelerator_hours": D("3"),
        "accelerators_used_per_year": D("4"),
        "admin_assist_hours_used_per_month": D("5"),
        "admin_rate_per_hour": D("80"),
        "fte_cost_annual": D("150000"),
    }
    fields.update(changes)
    return Profile(**fields)  # type: ignore[arg-type]


STANDARD = Tier("Standard", D("0"), per_sev("48", "48", "48", "48"), D("0"), D("0"))
PREMIER = Tier("Premier", D("0.30"), per_sev("1", "2", "4", "8"), None, D("0"))
PREMIER_PLUS = Tier("Premier+", D("0.35"), per_sev("1", "2", "4", "8"), None, D("10"))
SIGNATURE = Tier("Signature", D("0.40"), per_sev("0.25", "2", "4", "8"), None, D("0"))
TIERS = (STANDARD, PREMIER, PREMIER_PLUS, SIGNATURE)
CSM = CsmRule(D("1000000"), "Premier", D("100000"))
