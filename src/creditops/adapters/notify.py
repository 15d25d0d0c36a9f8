"""Delivery of alerts through Apprise: e-mail over SMTP, and chat (Slack, Microsoft Teams
workflows, a generic JSON webhook, or any other Apprise URL).

SMTP comes from the environment, never from the workspace: ``CREDITOPS_SMTP_URL`` and
``CREDITOPS_MAIL_FROM``. The URL forms:

- ``smtp://host:25`` — plain SMTP (a local relay);
- ``smtp+starttls://user:password@host:587`` — STARTTLS;
- ``smtps://user:password@host:465`` — TLS from the first byte;
- ``?verify=no`` skips the certificate check, ``?timeout=SECONDS`` bounds the connection.
"""

from __future__ import annotations

import hashlib
import logging
import re
import warnings
from dataclasses import dataclass
from functools import cache
from urllib.parse import quote, unquote, urlsplit

import apprise

from creditops.core.errors import InputError, Problem

SMTP_SCHEMES = {"smtp": "insecure", "smtp+starttls": "starttls", "smtps": "ssl"}
DEFAULT_TIMEOUT_SECONDS = 15
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


@dataclass(frozen=True)
class Delivery:
    """How one message fared: sent, or the reason it was not."""

    ok: bool
    error: str | None = None


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    mode: str
    user: str | None
    password: str | None
    sender: str
    sender_name: str | None
    verify: bool
    timeout: int

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port}"


@cache
def _plugins() -> None:
    """Loads Apprise's plugins once, without the deprecation warnings some of them raise
    while importing (e.g. about ``imghdr``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        apprise.Apprise.instantiate("json://localhost")


def chat_url_problem(url: str) -> str | None:
    """Why Apprise cannot use ``url`` as a chat target (none when it can). The message shows
    the scheme only: the rest of such a URL is often a secret token."""
    _plugins()
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if apprise.Apprise.instantiate(url) is None:
        shown = f"{scheme}://…" if scheme else repr(url[:20])
        return (f"{shown} is not a chat target Apprise understands (e.g. "
                "slack://TokenA/TokenB/TokenC/#channel, a https://hooks.slack.com/… URL, "
                "workflow://host/workflow/signature for Teams, json://host:port/path)")
    if scheme in ("mailto", "mailtos"):
        return "e-mail is configured with CREDITOPS_SMTP_URL, not as a chat target"
    return None


def chat_target_key(url: str) -> str:
    """A stable, secret-free key for a chat URL (what the delivery records keep)."""
    return "chat:" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:24]


def chat_label(url: str) -> str:
    """The URL with its secrets masked, for people."""
    _plugins()
    instance = apprise.Apprise.instantiate(url)
    if instance is None:
        return url.split("://", 1)[0] + "://…"
    return str(instance.url(privacy=True))  # type: ignore[no-untyped-call]


def parse_smtp_url(url: str, sender: str | None) -> SmtpSettings:
    """Reads ``CREDITOPS_SMTP_URL``; a bad URL or a missing sender is an InputError."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise InputError(Problem(f"not a URL ({error})", column="CREDITOPS_SMTP_URL",
                                 column_label="setting")) from None
    if parts.scheme not in SMTP_SCHEMES or not parts.hostname:
        raise InputError(Problem(
            "expected smtp://host:port, smtp+starttls://user:password@host:port or "
            "smtps://user:password@host:port", column="CREDITOPS_SMTP_URL",
            column_label="setting"))
    options = dict(part.split("=", 1) for part in parts.query.split("&") if "=" in part)
    unknown = set(options) - {"verify", "timeout"}
    if unknown:
        raise InputError(Problem(
            f"unknown option(s) {', '.join(sorted(unknown))}; expected verify, timeout",
            column="CREDITOPS_SMTP_URL", column_label="setting"))
    timeout = options.get("timeout", str(DEFAULT_TIMEOUT_SECONDS))
    if not timeout.isdigit() or int(timeout) == 0:
        raise InputError(Problem(f"timeout {timeout!r} is not a whole number of seconds",
                                 column="CREDITOPS_SMTP_URL", column_label="setting"))
    if not sender:
        raise InputError(Problem("set the sender address for alert e-mail",
                                 column="CREDITOPS_MAIL_FROM", column_label="setting"))
    name, address = split_address(sender)
    if address is None:
        raise InputError(Problem(f"{sender!r} is not an e-mail address",
                                 column="CREDITOPS_MAIL_FROM", column_label="setting"))
    mode = SMTP_SCHEMES[parts.scheme]
    default_port = {"insecure": 25, "starttls": 587, "ssl": 465}[mode]
    return SmtpSettings(
        host=parts.hostname, port=port or default_port, mode=mode,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        sender=address, sender_name=name,
        verify=options.get("verify", "yes").lower() not in ("no", "false", "0"),
        timeout=int(timeout))


def split_address(text: str) -> tuple[str | None, str | None]:
    """``"Name <email>"`` or a bare address → (name, address); (text, None) without one."""
    text = text.strip()
    match = re.fullmatch(r"(.*?)\s*<([^<>]+)>", text)
    if match:
        address = match.group(2).strip()
        return (match.group(1).strip().strip('"') or None,
                address if _EMAIL.match(address) else None)
    return (None, text) if _EMAIL.match(text) else (text or None, None)


def _mail_url(smtp: SmtpSettings, to: list[str], cc: list[str]) -> str:
    credentials = ""
    if smtp.user:
        credentials = quote(smtp.user, safe="")
        if smtp.password:
            credentials += ":" + quote(smtp.password, safe="")
        credentials += "@"
    scheme = "mailto" if smtp.mode == "insecure" else "mailtos"
    params = {
        "smtp": smtp.host, "from": smtp.sender, "to": ",".join(to), "mode": smtp.mode,
        "verify": "yes" if smtp.verify else "no", "cto": str(smtp.timeout),
        "rto": str(smtp.timeout),
    }
    if cc:
        params["cc"] = ",".join(cc)
    if smtp.sender_name:
        params["name"] = smtp.sender_name
    query = "&".join(f"{key}={quote(value, safe='')}" for key, value in params.items())
    return f"{scheme}://{credentials}{quote(smtp.host)}:{smtp.port}/?{query}"


def _reason(log: str, fallback: str) -> str:
    """The most telling line Apprise logged about a failure."""
    lines = [line.split(" - ", 2)[-1].strip() for line in log.splitlines() if line.strip()]
    for marker in ("Socket Exception:", "Exception", "error", "failed", "Failed"):
        for line in lines:
            if marker in line:
                return line.replace("Socket Exception: ", "")
    return fallback


def _send(url: str, title: str, body: str, what: str) -> Delivery:
    _plugins()
    notifier = apprise.Apprise()
    if not notifier.add(url):
        return Delivery(False, f"{what}: the target URL is not valid")
    with apprise.LogCapture(level=logging.DEBUG) as captured:  # type: ignore[no-untyped-call]
        sent = notifier.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT)
    if sent:
        return Delivery(True)
    return Delivery(False, f"{what}: {_reason(captured.getvalue(), 'not delivered')}")


def send_email(smtp: SmtpSettings, to: list[str], cc: list[str], subject: str, body: str
               ) -> Delivery:
    """One e-mail to ``to`` with ``cc`` in copy."""
    return _send(_mail_url(smtp, to, cc), subject, body,
                 f"e-mail via SMTP server {smtp.label}")


def send_chat(url: str, title: str, body: str) -> Delivery:
    return _send(url, title, body, f"chat message to {chat_label(url)}")
