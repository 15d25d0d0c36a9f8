"""A stand-in Salesforce org on 127.0.0.1 (HTTPS with a throw-away certificate) answering with
the documented shapes: SOAP partner login and its fault, the OAuth 2.0 JWT bearer token endpoint,
SOQL query pages linked by ``nextRecordsUrl``, Data 360 ``ssot/queryv2`` batches linked by
``nextBatchId``, REST error lists, and request-limit refusals."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

VERSION = "62.0"
SESSION = "00D5f000000NWRob!AQ4AQtestsession"
PAGE = 2  # records per SOQL page, so that paging is exercised


def make_certificate(folder: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(minutes=5))
                   .not_valid_after(now + dt.timedelta(hours=2))
                   .add_extension(x509.SubjectAlternativeName(
                       [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                                  critical=True)
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "server.pem", folder / "server.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Org:
    username: str = "dana@northwind.example"
    password: str = "correct horse"
    token: str = "T0KEN"
    jwt_public_key: Any = None
    client_id: str = "3MVG9-connected-app"
    entitlements: list[dict[str, Any]] = field(default_factory=list)
    wallet_rows: list[dict[str, Any]] = field(default_factory=list)
    refuse_next: int = 0  # answer this many API calls with REQUEST_LIMIT_EXCEEDED
    too_many_next: int = 0  # answer this many API calls with HTTP 429
    requests: list[str] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    cursors: dict[str, list[Any]] = field(default_factory=dict)
    base_url: str = ""


def _soap_login(org: Org, body: str) -> tuple[int, str]:
    user = re.search(r"<n1:username>(.*?)</n1:username>", body)
    secret = re.search(r"<n1:password>(.*?)</n1:password>", body)
    if not user or not secret or user.group(1) != org.username or \
            secret.group(1) != org.password + org.token:
        return 500, (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv='
            '"http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce'
            '.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
            "<soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode><faultstring>INVALID_LOGIN: "
            "Invalid username, password, security token; or user locked out.</faultstring>"
            '<detail><sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>INVALID_LOGIN'
            "</sf:exceptionCode><sf:exceptionMessage>Invalid username, password, security "
            "token; or user locked out.</sf:exceptionMessage></sf:LoginFault></detail>"
            "</soapenv:Fault></soapenv:Body></soapenv:Envelope>")
    return 200, (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.'
        'xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.'
        'w3.org/2001/XMLSchema-instance"><soapenv:Body><loginResponse><result>'
        f"<metadataServerUrl>{org.base_url}/services/Soap/m/{VERSION}/00D5f000000NWRob"
        "</metadataServerUrl><passwordExpired>false</passwordExpired><sandbox>false</sandbox>"
        f"<serverUrl>{org.base_url}/services/Soap/u/{VERSION}/00D5f000000NWRob</serverUrl>"
        f"<sessionId>{SESSION}</sessionId><userId>0055f000001DanaAAA</userId>"
        "</result></loginResponse></soapenv:Body></soapenv:Envelope>")


def _token(org: Org, body: str) -> tuple[int, Any]:
    form = {k: v[0] for k, v in parse_qs(body).items()}
    try:
        claims = jwt.decode(form.get("assertion", ""), org.jwt_public_key, algorithms=["RS256"],
                            audience="https://login.salesforce.com")
    except jwt.PyJWTError as error:
        return 400, {"error": "invalid_grant", "error_description": f"bad assertion: {error}"}
    if claims.get("iss") != org.client_id or claims.get("sub") != org.username:
        return 400, {"error": "invalid_client_id", "error_description": "client identifier "
                     "invalid"}
    return 200, {"access_token": SESSION, "instance_url": org.base_url, "token_type": "Bearer",
                 "id": f"{org.base_url}/id/00D5f000000NWRob/0055f000001DanaAAA",
                 "issued_at": "1793000000000", "scope": "api"}


def _soql(org: Org, query: str) -> tuple[int, Any]:
    org.queries.append(query)
    match = re.fullmatch(r"SELECT (.+) FROM (\w+)(?: WHERE LastModifiedDate >= (\S+))? "
                         r"ORDER BY LastModifiedDate", query)
    if not match:
        return 400, [{"message": f"unexpected token in: {query}", "errorCode": "MALFORMED_QUERY"}]
    fields, sobject, since = match.groups()
    if sobject != "TenantUsageEntitlement":
        return 400, [{"message": f"sObject type '{sobject}' is not supported.",
                      "errorCode": "INVALID_TYPE"}]
    names = [f.strip() for f in fields.split(",")]
    records = [r for r in org.entitlements if since is None or r["LastModifiedDate"] >= since]
    records = sorted(records, key=lambda r: r["LastModifiedDate"])
    rows = [{"attributes": {"type": sobject,
                            "url": f"/services/data/v{VERSION}/sobjects/{sobject}/{r['Id']}"}}
            | {name: r.get(name) for name in names} for r in records]
    cursor = f"01g5f00000Cursor{len(org.cursors)}"
    org.cursors[cursor] = rows
    return 200, _page(org, cursor, 0)


def _page(org: Org, cursor: str, start: int) -> dict[str, Any]:
    rows = org.cursors[cursor]
    page = rows[start:start + PAGE]
    done = start + PAGE >= len(rows)
    result: dict[str, Any] = {"totalSize": len(rows), "done": done, "records": page}
    if not done:
        result["nextRecordsUrl"] = f"/services/data/v{VERSION}/query/{cursor}-{start + PAGE}"
    return result


def _data360(org: Org, sql: str) -> tuple[int, Any]:
    org.queries.append(sql)
    match = re.search(r"FROM (\w+)(?: WHERE processedtime__c >= TIMESTAMP '([^']+)')?", sql)
    if not match or match.group(1) != "TenantEnrichedUsageEvent__dll":
        return 400, [{"message": "Object not found", "errorCode": "INVALID_OBJECT"}]
    since = match.group(2)
    columns = re.search(r"SELECT (.+?) FROM", sql).group(1).split(", ")  # type: ignore[union-attr]
    rows = [r for r in org.wallet_rows if since is None or dt.datetime.fromisoformat(
        r["processedtime__c"]) >= dt.datetime.fromisoformat(since)]
    data = [[r.get(c) for c in columns] for r in rows]
    batches = [data[i:i + PAGE] for i in range(0, len(data), PAGE)] or [[]]
    metadata = {c: {"type": "VARCHAR", "placeInOrder": i, "typeCode": 12}
                for i, c in enumerate(columns)}
    ids = [f"batch-{len(org.cursors)}-{i}" for i in range(len(batches))]
    for i, batch_id in enumerate(ids):
        org.cursors[batch_id] = [batches[i], ids[i + 1] if i + 1 < len(ids) else None, metadata]
    return 200, _batch(org, ids[0], len(rows))


def _batch(org: Org, batch_id: str, total: int | None = None) -> dict[str, Any]:
    data, next_id, metadata = org.cursors.pop(batch_id)
    body = {"data": data, "startTime": "2026-11-01T10:00:00.0Z",
            "endTime": "2026-11-01T10:00:01.0Z", "rowCount": len(data),
            "queryId": "20261101_100000_00001_test", "done": next_id is None,
            "metadata": metadata}
    if next_id is not None:
        body["nextBatchId"] = next_id
    return body


def _json(body: Any) -> str:
    """JSON with decimals written as the exact numbers they are (as Salesforce writes them)."""
    text = json.dumps(body, default=lambda value: f"__number__{value}")
    return re.sub(r'"__number__([-0-9.E+]+)"', r"\1", text)


def handler_for(org: Org) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: Any, content_type: str = "application/json"
                   ) -> None:
            data = body.encode() if isinstance(body, str) else _json(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _limited(self) -> bool:
            if org.too_many_next:
                org.too_many_next -= 1
                self._reply(429, [{"message": "Too many requests", "errorCode":
                                   "REQUEST_LIMIT_EXCEEDED"}])
                return True
            if org.refuse_next:
                org.refuse_next -= 1
                self._reply(403, [{"message": "TotalRequests Limit exceeded.",
                                   "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
                return True
            return False

        def _authorised(self) -> bool:
            if self.headers.get("Authorization") != f"Bearer {SESSION}":
                self._reply(401, [{"message": "Session expired or invalid",
                                   "errorCode": "INVALID_SESSION_ID"}])
                return False
            return True

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            path = urlsplit(self.path).path
            org.requests.append(f"POST {path}")
            if path == f"/services/Soap/u/{VERSION}":
                status, xml = _soap_login(org, body)
                self._reply(status, xml, "text/xml; charset=utf-8")
            elif path == "/services/oauth2/token":
                self._reply(*_token(org, body))
            elif path == f"/services/data/v{VERSION}/ssot/queryv2":
                if self._authorised() and not self._limited():
                    self._reply(*_data360(org, json.loads(body)["sql"]))
            else:
                self._reply(404, [{"message": "not found", "errorCode": "NOT_FOUND"}])

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            org.requests.append(f"GET {parts.path}")
            if not self._authorised() or self._limited():
                return
            base = f"/services/data/v{VERSION}"
            if parts.path == f"{base}/query/":
                self._reply(*_soql(org, parse_qs(parts.query)["q"][0]))
            elif parts.path.startswith(f"{base}/query/"):
                cursor, _, start = parts.path.rsplit("/", 1)[1].rpartition("-")
                self._reply(200, _page(org, cursor, int(start)))
            elif parts.path.startswith(f"{base}/ssot/queryv2/"):
                self._reply(200, _batch(org, parts.path.rsplit("/", 1)[1]))
            else:
                self._reply(404, [{"message": "not found", "errorCode": "NOT_FOUND"}])

    return Handler


@contextmanager
def serve(org: Org, folder: Path) -> Iterator[tuple[str, Path]]:
    """Runs the org on a free port of 127.0.0.1; yields its base URL and CA certificate."""
    cert, key = make_certificate(folder)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(org))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    org.base_url = f"https://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield org.base_url, cert
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
