"""The one HTTP client for JSON APIs and published indexes: timeouts, retries, proxies.

requests with urllib3's ``Retry``: a 5xx or 429 answer is retried with exponential
backoff, honouring ``Retry-After`` (capped, so a server cannot park a cron job for an
hour); connection errors and read timeouts are retried too. requests reads the proxy
variables (``HTTPS_PROXY``, ``NO_PROXY``...) and the CA bundle variables itself.
"""

from __future__ import annotations

import json
from types import TracebackType
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .errors import SourceError
from .redact import redact_url

RETRIED_STATUSES = (429, 500, 502, 503, 504)
DEFAULT_TIMEOUT = 30.0  # seconds per connection attempt and per read
DEFAULT_RETRIES = 4
RETRY_AFTER_MAX = 60.0  # seconds: the longest Retry-After honoured as given
POOL_SIZE = 16


class _CappedRetry(Retry):
    def parse_retry_after(self, retry_after: str) -> float:
        return min(float(super().parse_retry_after(retry_after)), RETRY_AFTER_MAX)


class Client:
    """GET with retries; a 404 is an answer (None), anything else that fails a SourceError."""

    def __init__(
        self,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = 0.5,
    ) -> None:
        self.timeout = timeout
        self.retries = retries
        retry = _CappedRetry(
            total=retries,
            backoff_factor=backoff,
            status_forcelist=RETRIED_STATUSES,
            allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=True,
            raise_on_status=False,  # the last answer is returned and reported below
        )
        adapter = HTTPAdapter(max_retries=retry, pool_connections=POOL_SIZE, pool_maxsize=POOL_SIZE)
        self.session = requests.Session()
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.session.close()

    def get_bytes(self, url: str, accept: str = "application/json") -> bytes | None:
        """The body at ``url``; None for a 404 (or 410)."""
        shown = redact_url(url)
        try:
            response = self.session.get(
                url, headers={"Accept": accept}, timeout=(self.timeout, self.timeout)
            )
        except (requests.exceptions.Timeout, requests.exceptions.ConnectionError) as error:
            raise SourceError(
                f"{shown} did not answer within {self.timeout:g} s, "
                f"{self.retries + 1} tries ({_reason(error)})",
                hint="check the network and the proxy variables (HTTPS_PROXY); run again",
            ) from None
        except requests.RequestException as error:
            raise SourceError(
                f"GET {shown} failed: {_reason(error)}", hint="check the URL"
            ) from None
        with response:
            if response.status_code in (404, 410):
                return None
            if response.status_code != 200:
                tries = (
                    f" after {self.retries + 1} tries"
                    if response.status_code in RETRIED_STATUSES
                    else ""
                )
                raise SourceError(
                    f"{shown} answered HTTP {response.status_code}{tries}",
                    hint="the server is overloaded or down; run again later"
                    if response.status_code >= 500 or response.status_code == 429
                    else "check the URL",
                )
            return response.content

    def get_json(self, url: str) -> Any | None:
        body = self.get_bytes(url)
        if body is None:
            return None
        try:
            return json.loads(body)
        except ValueError as error:
            raise SourceError(
                f"{redact_url(url)} did not answer JSON ({error})", hint="check the URL"
            ) from None


def _reason(error: BaseException) -> str:
    text = redact_url(str(error)).splitlines()[0] if str(error) else type(error).__name__
    return text if len(text) < 200 else text[:200] + "..."
