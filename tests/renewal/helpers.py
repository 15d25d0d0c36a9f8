"""Builders shared by the renewal tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from creditops.core.trueup import (
    Clause,
    Growth,
    GrowthModel,
    Pricing,
    Product,
    Scenario,
    Term,
    Timing,
)


def path_product(needed: Sequence[int | Decimal], *, quantity: int = 10, list_price: str = "100",
                 discount: str = "0.2", escalation: str = "0.1", ramp: Sequence[int] = (),
                 product_id: str = "p") -> Product:
    return Product(
        id=product_id, name=product_id, list_price=Decimal(list_price), quantity=quantity,
        discount=Decimal(discount), list_escalation=Decimal(escalation),
        growth=Growth(GrowthModel.PATH, path=tuple(Decimal(value) for value in needed)),
        ramp=tuple(ramp),
    )


def rate_product(model: GrowthModel, rate: str | Sequence[str], years: int, *,
                 quantity: int = 1000, initial: str | None = None, list_price: str = "175",
                 discount: str = "0.30", escalation: str = "0.07",
                 product_id: str = "p") -> Product:
    rates = [rate] * years if isinstance(rate, str) else list(rate)
    return Product(
        id=product_id, name=product_id, list_price=Decimal(list_price), quantity=quantity,
        discount=Decimal(discount), list_escalation=Decimal(escalation),
        growth=Growth(model, annual=tuple(Decimal(r) for r in rates),
                      initial=None if initial is None else Decimal(initial)),
    )


def clause(pricing: Pricing, timing: Timing = Timing.MONTHLY, *, coterm: bool = True,
           backbill: bool = False, cap: str | None = None, clause_id: str = "X") -> Clause:
    return Clause(id=clause_id, pricing=pricing, timing=timing, coterm=coterm, backbill=backbill,
                  cap=None if cap is None else Decimal(cap))


def scenario(products: Sequence[Product], clauses: Sequence[Clause], years: int) -> Scenario:
    return Scenario(currency="USD", term=Term(date(2027, 2, 1), years), products=tuple(products),
                    clauses=tuple(clauses))
