"""Synthetic partner activity, for the shipped example and the benchmark.

Partners differ in size (log-normal), growth and appetite for the rewarded behaviours; tiers follow
size. Events are spread over the dates with each partner's growth, deals carry log-normal amounts
by tier, and about 2% of deals are reversed 1 to 60 days after they closed. Columnar throughout
(NumPy and Arrow), so ten million events take seconds.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

TIERS = ("Platinum", "Gold", "Silver", "Registered")
TIER_SHARES = (0.05, 0.15, 0.30, 0.50)
TIER_DEAL_SIZE = (40_000.0, 20_000.0, 10_000.0, 5_000.0)
TYPES = ("Reseller", "MSP", "System Integrator", "Referral")
TYPE_SHARES = (0.5, 0.2, 0.2, 0.1)
REGIONS = ("NA", "EMEA", "APAC", "LATAM")
REGION_SHARES = (0.4, 0.35, 0.15, 0.1)
BEHAVIOURS = ("opportunity_registered", "training_completed", "customer_meeting",
              "campaign_run", "email_sent")
BEHAVIOUR_SHARES = (0.19, 0.06, 0.25, 0.03, 0.47)
REVERSED_SHARE = 0.02

_WORDS = (("Northwind", "Bluebird", "Granite", "Harbor", "Summit", "Cedar", "Lumen", "Vertex",
           "Atlas", "Beacon", "Crescent", "Evergreen", "Falcon", "Juniper", "Meridian", "Orbit"),
          ("Systems", "Partners", "Cloud", "Digital", "Consulting", "Networks", "Solutions",
           "Labs", "Group", "Works"))


def partners_table(count: int, rng: np.random.Generator) -> tuple[pa.Table, np.ndarray]:
    """The partners (``partner_id``, ``name``, ``tier``, ``type``, ``region``) and their sizes."""
    size = rng.lognormal(0.0, 1.2, count)
    rank = np.empty(count, dtype=np.int64)
    rank[np.argsort(-size)] = np.arange(count)
    bounds = np.cumsum(TIER_SHARES) * count
    tier = np.searchsorted(bounds, rank, side="right")
    numbers = np.arange(1, count + 1)
    first = rng.integers(0, len(_WORDS[0]), count)
    second = rng.integers(0, len(_WORDS[1]), count)
    names = [f"{_WORDS[0][a]} {_WORDS[1][b]} {n}" for a, b, n in zip(first, second, numbers,
                                                                      strict=True)]
    table = pa.table({
        "partner_id": [f"P{number:05d}" for number in numbers],
        "name": names,
        "tier": [TIERS[index] for index in tier],
        "type": [TYPES[index] for index in rng.choice(len(TYPES), count, p=TYPE_SHARES)],
        "region": [REGIONS[index] for index in rng.choice(len(REGIONS), count,
                                                           p=REGION_SHARES)],
    })
    return table, size


def events_table(partners: pa.Table, size: np.ndarray, count: int, start: date, end: date,
                 rng: np.random.Generator) -> pa.Table:
    """About ``count`` events between ``start`` and ``end`` (inclusive), sorted by date."""
    partner_count = len(size)
    days = (end - start).days + 1
    tiers = np.array([TIERS.index(tier) for tier in partners.column("tier").to_pylist()])
    growth = np.log(rng.lognormal(0.1, 0.3, partner_count)) / 365.0
    deal_share = np.clip(rng.normal(0.2, 0.05, partner_count), 0.05, 0.5)
    who = np.searchsorted(np.cumsum(size / size.sum()), rng.random(count))
    who = np.minimum(who, partner_count - 1)
    rate = growth[who]
    uniform = rng.random(count)
    flat = np.abs(rate) < 1e-9
    safe = np.where(flat, 1.0, rate)
    offset = np.where(flat, uniform * days,
                      np.log1p(uniform * np.expm1(safe * days)) / safe)
    day = np.minimum(offset.astype(np.int64), days - 1)
    is_deal = rng.random(count) < deal_share[who]
    behaviour = np.searchsorted(np.cumsum(BEHAVIOUR_SHARES), rng.random(count))
    kind = np.where(is_deal, 0, np.minimum(behaviour, len(BEHAVIOURS) - 1) + 1)
    mean = np.array(TIER_DEAL_SIZE)[tiers[who]]
    cents = np.round(rng.lognormal(0.0, 0.6, count) * mean * 100).astype(np.int64)

    deal_rows = np.flatnonzero(is_deal)
    reversed_rows = deal_rows[rng.random(len(deal_rows)) < REVERSED_SHARE]
    reversal_day = day[reversed_rows] + rng.integers(1, 61, len(reversed_rows))
    keep = reversal_day < days
    reversed_rows, reversal_day = reversed_rows[keep], reversal_day[keep]
    extra = len(reversed_rows)

    # Events then their reversals, ordered by day (stable: a radix sort of small integers).
    all_day = np.concatenate([day, reversal_day]).astype(np.int16)
    order = np.argsort(all_day, kind="stable")
    is_reversal = (order >= count)
    number = np.where(is_reversal, order - count, order)
    reversed_deal = np.where(is_reversal, reversed_rows[np.minimum(number, max(extra - 1, 0))]
                             if extra else 0, 0)
    kinds = np.where(is_reversal, len(BEHAVIOURS) + 1, kind[np.minimum(order, count - 1)])
    owner = np.where(is_reversal, who[reversed_deal], who[np.minimum(order, count - 1)])
    amount = np.where(is_reversal, 0, cents[np.minimum(order, count - 1)])
    epoch = (start - date(1970, 1, 1)).days
    ids = pc.binary_join_element_wise(
        pc.if_else(pa.array(is_reversal), pa.scalar("R"), pa.scalar("E")),
        _digits(np.where(is_reversal, reversed_deal, number)), "")
    refs = _ids("E", reversed_rows).take(pa.array(number, mask=~is_reversal))
    return pa.table({
        "id": ids,
        "partner_id": pa.DictionaryArray.from_arrays(
            pa.array(owner.astype(np.int32)), partners.column("partner_id").combine_chunks()),
        "at": pa.array((all_day[order].astype(np.int32) + epoch), pa.date32()),
        "kind": pa.DictionaryArray.from_arrays(
            pa.array(kinds.astype(np.int8)),
            pa.array(("deal_closed", *BEHAVIOURS, "deal_reversed"))),
        "amount": _cents_to_decimal(amount, kinds == 0),
        "ref": refs,
    })


def _digits(numbers: np.ndarray) -> pa.Array:
    return pc.utf8_lpad(pa.array(numbers).cast(pa.string()), width=8, padding="0")


def _ids(prefix: str, numbers: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(prefix, _digits(numbers), "")


def _cents_to_decimal(cents: np.ndarray, valid: np.ndarray) -> pa.Array:
    """Integer cents as DECIMAL(18,2), exactly: the cents are the unscaled 128-bit values."""
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = np.where(cents < 0, -1, 0)
    validity = pa.py_buffer(np.packbits(valid, bitorder="little").tobytes())
    return pa.Array.from_buffers(pa.decimal128(18, 2), len(cents),
                                 [validity, pa.py_buffer(words.tobytes())])
