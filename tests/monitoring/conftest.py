"""Fixtures: a small workspace with owners and plans, a real SMTP server (aiosmtpd) and a real
HTTP server for webhooks, both on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from creditops.services.imports import import_usage
from creditops.services.workspace import Workspace, init_workspace, load_register

AS_OF = "2026-10-01"

REGISTER = """\
currency: USD
timezone: UTC
administrator: "Dana Whitfield <dana@example.com>"
owners:
  - {name: Aiko Tanaka, email: aiko@example.com}
contracts:
  - {id: MSA, name: "Master agreement", start: 2024-03-01, end: 2027-02-28,
     net_annual_value: "120000"}
pools:
  - id: flex
    kind: flex_credits
    unit: credit
    unit_value: "0.004"
    contract: MSA
    owner: "Priya Shah <priya@example.com>"
    grants:
      - {id: flex-y, quantity: 10000, effective: 2026-01-01, expires: 2026-12-15}
  - id: training
    kind: training_credits
    unit: voucher
    unit_value: "400"
    contract: MSA
    owner: Aiko Tanaka
    notify: ["json://127.0.0.1:{hook_port}/hooks/training"]
    grants:
      - {id: vouchers, quantity: 40, effective: 2026-01-01, expires: 2026-12-31}
    plan:
      - {date: 2026-03-31, quantity: 10, description: "Admin certifications", owner: Aiko Tanaka}
      - {date: 2026-06-30, quantity: 10, description: "Developer certifications"}
      - {date: 2026-11-30, quantity: 15, description: "Consultant track", project: "FSL"}
"""


def usage_csv() -> str:
    lines = ["date,pool,quantity,ref"]
    # 9,000 flex credits over 1 January … 30 September: 33 a day, 90% of the grant.
    from datetime import date, timedelta
    day = date(2026, 1, 1)
    total = 0
    while day <= date(2026, 9, 30):
        quantity = 33 if total + 33 <= 9000 else 9000 - total
        if quantity:
            lines.append(f"{day.isoformat()},flex,{quantity},F-{day.isoformat()}")
        total += quantity
        day += timedelta(days=1)
    lines.append("2026-04-15,training,3,T-1")
    lines.append("2026-07-15,training,2,T-2")
    return "\n".join(lines) + "\n"


@pytest.fixture
def make_workspace(tmp_path: Path):  # type: ignore[no-untyped-def]
    opened: list[Workspace] = []

    def make(url: str, hook_port: int = 9, register: str = REGISTER) -> Workspace:
        workspace = init_workspace(url)
        opened.append(workspace)
        path = tmp_path / "register.yaml"
        path.write_text(register.replace("{hook_port}", str(hook_port)))
        load_register(workspace, path, actor="test")
        usage = tmp_path / "usage.csv"
        usage.write_text(usage_csv())
        import_usage(workspace, usage, actor="test")
        return workspace

    yield make
    for workspace in opened:
        workspace.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Mailbox:
    port: int
    received: list[tuple[list[str], Message]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def start_mailbox(box: Mailbox) -> Controller:
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    return controller


@dataclass
class Webhook:
    port: int
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook(0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            hook.received.append((self.path, json.loads(self.rfile.read(length))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


def body_of(message: Message) -> str:
    if message.is_multipart():
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                payload = part.get_payload(decode=True)
                assert isinstance(payload, bytes)
                return payload.decode(part.get_content_charset() or "utf-8")
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode("utf-8")
