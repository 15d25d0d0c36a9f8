"""Reading an org with simple-salesforce: SOQL with ``nextRecordsUrl`` paging, the Data 360 query
API (``ssot/queryv2`` with ``nextBatchId`` paging), and retries when Salesforce says the org is
over a request limit.

Credentials come from the environment only and are never stored:

- ``CREDITOPS_SF_USERNAME``, ``CREDITOPS_SF_PASSWORD`` and ``CREDITOPS_SF_TOKEN`` (password and
  security token, SOAP login), or
- ``CREDITOPS_SF_USERNAME``, ``CREDITOPS_SF_CLIENT_ID`` and ``CREDITOPS_SF_PRIVATE_KEY_FILE``
  (OAuth 2.0 JWT bearer flow of a connected app);
- ``CREDITOPS_SF_DOMAIN``: ``login`` (default), ``test`` for a sandbox, or a My Domain
  (``acme.my``); ``CREDITOPS_SF_LOGIN_URL`` instead gives the full login URL
  (``https://acme.my.salesforce.com``); ``CREDITOPS_SF_API_VERSION`` (default 62.0).

Numbers in Salesforce's JSON are read as exact decimals.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import jwt
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError
from simple_salesforce.login import SalesforceLogin, token_login

from creditops.core.errors import InputError, Problem

API_VERSION = "62.0"
SOURCE = "Salesforce"
RETRIED_CODES = {"REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE", "UNABLE_TO_LOCK_ROW"}


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str | None = None
    token: str | None = None
    client_id: str | None = None
    private_key_file: str | None = None
    domain: str = "login"
    login_url: str | None = None
    api_version: str = API_VERSION

    @property
    def base_login_url(self) -> str:
        return (self.login_url or f"https://{self.domain}.salesforce.com").rstrip("/")


def credentials_from_environment(env: Mapping[str, str] | None = None) -> Credentials:
    env = os.environ if env is None else env

    def get(name: str) -> str | None:
        return env.get(f"CREDITOPS_SF_{name}") or None

    username = get("USERNAME")
    password, token = get("PASSWORD"), get("TOKEN")
    client_id, key_file = get("CLIENT_ID"), get("PRIVATE_KEY_FILE")
    jwt_ready = client_id is not None and key_file is not None
    if username is None or not (jwt_ready or (password is not None and token is not None)):
        raise InputError(Problem(
            "Salesforce credentials are read from the environment only: set "
            "CREDITOPS_SF_USERNAME with CREDITOPS_SF_PASSWORD and CREDITOPS_SF_TOKEN, or with "
            "CREDITOPS_SF_CLIENT_ID and CREDITOPS_SF_PRIVATE_KEY_FILE (JWT bearer flow)",
            source=SOURCE))
    return Credentials(username, password, token, client_id, key_file,
                       get("DOMAIN") or "login", get("LOGIN_URL"),
                       get("API_VERSION") or API_VERSION)


def _error_code(error: SalesforceError) -> str:
    content = error.content
    if isinstance(content, list) and content and isinstance(content[0], Mapping):
        return str(content[0].get("errorCode", ""))
    if isinstance(content, Mapping):
        return str(content.get("errorCode", content.get("error", "")))
    return ""


def _error_message(error: SalesforceError) -> str:
    content = error.content
    if isinstance(content, list) and content and isinstance(content[0], Mapping):
        return str(content[0].get("message", content))
    if isinstance(content, Mapping):
        return str(content.get("message", content.get("error_description", content)))
    return str(content)


class SalesforceClient:
    """A logged-in connection to one org, with retries on request-limit answers."""

    def __init__(self, credentials: Credentials, *, session: requests.Session | None = None,
                 retries: int = 5, backoff: float = 2.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.credentials = credentials
        self.http = session or requests.Session()
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep
        self.api = self._login()

    def _login(self) -> Salesforce:
        creds = self.credentials
        try:
            if creds.private_key_file and creds.client_id:
                session_id, instance = self._jwt_login()
            else:
                session_id, instance = SalesforceLogin(
                    username=creds.username, password=creds.password,
                    security_token=creds.token, domain=creds.domain,
                    sf_version=creds.api_version, session=self.http,
                    scratch_url=creds.login_url.rstrip("/") if creds.login_url else None)
        except SalesforceAuthenticationFailed as error:
            raise InputError(Problem(
                f"login refused ({error.code}): {error.message}; check the CREDITOPS_SF_* "
                "variables", source=SOURCE)) from None
        except requests.RequestException as error:
            raise InputError(Problem(f"cannot reach {creds.base_login_url}: {error}",
                                     source=SOURCE)) from None
        return Salesforce(session_id=session_id, instance=instance, session=self.http,
                          version=creds.api_version, parse_float=Decimal)

    def _jwt_login(self) -> tuple[str, str]:
        creds = self.credentials
        assert creds.private_key_file is not None and creds.client_id is not None
        try:
            key = Path(creds.private_key_file).read_bytes()
        except OSError as error:
            raise InputError(Problem(f"cannot read CREDITOPS_SF_PRIVATE_KEY_FILE: {error}",
                                     source=SOURCE)) from None
        audience = "https://test.salesforce.com" if creds.domain == "test" \
            else "https://login.salesforce.com"
        claims = {"iss": creds.client_id, "sub": creds.username, "aud": audience,
                  "exp": int((datetime.now(UTC) + timedelta(minutes=3)).timestamp())}
        assertion = jwt.encode(claims, key, algorithm="RS256")
        data = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": assertion}
        session_id, instance = token_login(f"{creds.base_login_url}/services/oauth2/token", data,
                                           creds.domain, creds.client_id, None, None, self.http)
        return str(session_id), str(instance)

    def _call(self, action: Callable[[], Any], what: str) -> Any:
        for attempt in range(self.retries + 1):
            try:
                return action()
            except SalesforceError as error:
                code = _error_code(error)
                limited = error.status in (429, 503) or code in RETRIED_CODES
                if not limited or attempt == self.retries:
                    raise InputError(Problem(
                        f"{what} failed (HTTP {error.status}{', ' + code if code else ''}): "
                        f"{_error_message(error)}", source=SOURCE)) from None
                self.sleep(self.backoff * 2**attempt)
            except requests.RequestException as error:
                raise InputError(Problem(f"{what} failed: {error}", source=SOURCE)) from None
        raise AssertionError("unreachable")

    def soql(self, query: str) -> Iterator[dict[str, Any]]:
        """Every record of a SOQL query, page by page (``nextRecordsUrl``)."""
        page = self._call(lambda: self.api.query(query), "SOQL query")
        while True:
            for record in page["records"]:
                yield {k: v for k, v in record.items() if k != "attributes"}
            if page.get("done", True) or not page.get("nextRecordsUrl"):
                return
            next_url: str = page["nextRecordsUrl"]
            page = self._call(partial(self.api.query_more, next_url, identifier_is_url=True),
                              "SOQL query (next page)")

    def data360(self, sql: str) -> Iterator[dict[str, Any]]:
        """Every row of a Data 360 query (``ssot/queryv2``), batch by batch (``nextBatchId``),
        as {column: value}."""
        page = self._call(lambda: self.api.restful("ssot/queryv2", method="POST",
                                                   json={"sql": sql}), "Data 360 query")
        while page:
            metadata = page.get("metadata") or {}
            order = sorted(metadata, key=lambda name: metadata[name].get("placeInOrder", 0))
            for values in page.get("data") or []:
                yield dict(zip(order, values, strict=False))
            batch = page.get("nextBatchId")
            if page.get("done", True) or not batch:
                return
            page = self._call(partial(self.api.restful, f"ssot/queryv2/{batch}"),
                              "Data 360 query (next batch)")
