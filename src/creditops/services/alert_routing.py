"""Who hears of an alert, and how: the rules of the register file over the defaults, the chat
and e-mail channels from the settings and the pools, and each recipient's address from the
directory of people."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from creditops.adapters.notify import (
    SmtpSettings,
    chat_target_key,
    chat_url_problem,
    parse_smtp_url,
    split_address,
)
from creditops.adapters.storage.tables import PoolRow
from creditops.config import load_settings
from creditops.core.alerts import (
    DEFAULT_CONSUMPTION_THRESHOLDS,
    DEFAULT_EXPIRY_DAYS,
    DEFAULT_PLAN_BEHIND,
    DEFAULT_RENEWAL_DAYS,
    AlertCandidate,
    AlertRules,
)
from creditops.core.errors import InputError, Problem

# -- configuration ----------------------------------------------------------------------------

def rules_from_json(base: AlertRules, data: Mapping[str, Any] | None) -> AlertRules:
    """The rules of the register file's `alerts:` (already validated) over ``base``."""
    if not data:
        return base
    rules = base

    def on(name: str) -> Mapping[str, Any] | None:
        value = data.get(name)
        return value if isinstance(value, Mapping) else None

    if (consumption := on("consumption")) is not None:
        thresholds = consumption.get("thresholds")
        rules = AlertRules(**{**rules.__dict__, "consumption": None
                              if not consumption.get("enabled", True)
                              else tuple(Decimal(str(t)) for t in thresholds) if thresholds
                              else base.consumption or DEFAULT_CONSUMPTION_THRESHOLDS})
    if (lapse := on("projected_lapse")) is not None:
        rules = AlertRules(**{**rules.__dict__,
                              "projected_lapse": bool(lapse.get("enabled", True))})
    for name, attribute, default in (("expiry", "expiry_days", DEFAULT_EXPIRY_DAYS),
                                     ("renewal", "renewal_days", DEFAULT_RENEWAL_DAYS)):
        if (lead := on(name)) is not None:
            days = lead.get("days")
            rules = AlertRules(**{**rules.__dict__, attribute: None
                                  if not lead.get("enabled", True)
                                  else tuple(int(d) for d in days) if days
                                  else getattr(base, attribute) or default})
    if (behind := on("plan_behind")) is not None:
        threshold = behind.get("threshold")
        rules = AlertRules(**{**rules.__dict__, "plan_behind": None
                              if not behind.get("enabled", True)
                              else Decimal(str(threshold)) if threshold is not None
                              else base.plan_behind or DEFAULT_PLAN_BEHIND})
    return rules


@dataclass(frozen=True)
class Channels:
    """Where alerts go: SMTP (none when not configured) and chat targets by key."""

    smtp: SmtpSettings | None
    workspace_chat: tuple[str, ...]
    pool_chat: dict[str, tuple[str, ...]]

    def chat_urls(self) -> dict[str, str]:
        urls = {chat_target_key(url): url for url in self.workspace_chat}
        for pool_urls in self.pool_chat.values():
            urls.update({chat_target_key(url): url for url in pool_urls})
        return urls


def split_urls(text: str | None) -> list[str]:
    return [part for part in re.split(r"[\s,]+", text or "") if part]


def read_channels(settings: Mapping[str, Any], pool_rows: Iterable[PoolRow]) -> Channels:
    """Reads SMTP and chat settings; a bad one is an InputError that names it."""
    environment = load_settings()
    smtp = parse_smtp_url(environment.smtp_url, environment.mail_from) \
        if environment.smtp_url else None
    problems = []
    env_urls = split_urls(environment.notify_urls)
    for url in env_urls:
        reason = chat_url_problem(url)
        if reason:
            problems.append(Problem(reason, column="CREDITOPS_NOTIFY_URLS",
                                    column_label="setting"))
    workspace_urls = [str(u) for u in settings.get("notify") or []]
    pool_urls = {row.id: tuple(str(u) for u in (row.attributes or {}).get("notify") or [])
                 for row in pool_rows}
    for where, urls in [("notify", workspace_urls),
                        *((f"pools[{pid}].notify", list(u)) for pid, u in pool_urls.items())]:
        for url in urls:
            reason = chat_url_problem(url)
            if reason:
                problems.append(Problem(reason, column=where, column_label="register key"))
    if problems:
        raise InputError(problems)
    return Channels(smtp, tuple(dict.fromkeys(workspace_urls + env_urls)), pool_urls)


# -- recipients -----------------------------------------------------------------------------

def _directory(settings: Mapping[str, Any]) -> dict[str, str]:
    owners = settings.get("owners") or []
    return {str(o["name"]).strip().lower(): str(o["email"]) for o in owners
            if isinstance(o, Mapping) and o.get("name") and o.get("email")}


def email_of(person: str | None, directory: Mapping[str, str]) -> str | None:
    """The e-mail address of "Name <email>", a bare address, or a name in `owners:`."""
    if not person:
        return None
    name, address = split_address(person)
    if address:
        return address.lower()
    found = directory.get((name or "").lower())
    return found.lower() if found else None


@dataclass(frozen=True)
class Recipients:
    to: tuple[str, ...]
    cc: tuple[str, ...]


def recipients_for(candidate: AlertCandidate, owner: str | None, settings: Mapping[str, Any],
                   extra: Iterable[str]) -> Recipients:
    """The owner in To; the administrator and configured recipients in Cc (the administrator
    in To when no owner e-mail is known)."""
    directory = _directory(settings)
    admin = email_of(settings.get("administrator"), directory)
    owner_email = None if candidate.rule == "renewal" else email_of(owner, directory)
    to = [owner_email] if owner_email else ([admin] if admin else [])
    cc = [admin] if admin else []
    cc += [e for e in (email_of(x, directory) for x in extra) if e]
    cc = [address for address in dict.fromkeys(cc) if address not in to]
    return Recipients(tuple(a for a in to if a), tuple(cc))
