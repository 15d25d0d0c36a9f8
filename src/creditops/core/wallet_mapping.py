"""Which pool a Digital Wallet usage row belongs to.

Each pool lists ``match:`` entries: a card developer name, and optionally usage types, an org id
and an environment. A row belongs to the pool with an entry that matches it. Two pools whose
entries could both match one row make the mapping ambiguous, which is refused when the register
is loaded. Org ids match on their first 15 characters (Salesforce's 15- and 18-character forms of
one id).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class WalletMatch:
    pool: str
    card: str
    usage_types: frozenset[str] | None = None
    org: str | None = None
    env: str | None = None  # "production" or "sandbox"
    position: int = 0  # the entry's index in the pool's list

    def matches(self, card: str, usage_type: str | None, org: str | None,
                env: str | None) -> bool:
        if self.card.lower() != card.lower():
            return False
        if self.usage_types is not None and (
                usage_type is None or usage_type.lower() not in self.usage_types):
            return False
        if self.org is not None and (org is None or _org_key(org) != _org_key(self.org)):
            return False
        return self.env is None or (env is not None and env == self.env)

    def overlaps(self, other: WalletMatch) -> bool:
        """Whether one row could match both entries."""
        if self.card.lower() != other.card.lower():
            return False
        if self.usage_types is not None and other.usage_types is not None \
                and not self.usage_types & other.usage_types:
            return False
        if self.org is not None and other.org is not None \
                and _org_key(self.org) != _org_key(other.org):
            return False
        return self.env is None or other.env is None or self.env == other.env


def make_match(pool: str, card: str, usage_types: Sequence[str] | None = None,
               org: str | None = None, env: str | None = None, position: int = 0
               ) -> WalletMatch:
    types = frozenset(u.lower() for u in usage_types) if usage_types is not None else None
    return WalletMatch(pool, card, types, org, env, position)


def overlapping(entries: Iterable[WalletMatch]) -> list[tuple[WalletMatch, WalletMatch]]:
    """Pairs of entries of different pools that could claim the same row."""
    listed = list(entries)
    return [(a, b) for i, a in enumerate(listed) for b in listed[i + 1:]
            if a.pool != b.pool and a.overlaps(b)]


def pool_for(entries: Sequence[WalletMatch], card: str, usage_type: str | None,
             org: str | None, env: str | None) -> str | None:
    """The pool whose entry matches the row (entries never overlap across pools)."""
    for entry in entries:
        if entry.matches(card, usage_type, org, env):
            return entry.pool
    return None


def _org_key(org: str) -> str:
    return org.strip()[:15]
