"""The one HTTP client base every connector (forge, error source, notifier, model server) builds on.

A connector subclasses `HttpClient` and declares only what makes its API different: its name,
its auth, its extra headers, which answers mean "rate limited" and how long the vendor says to
wait, which statuses need a hint for the person reading the error. Everything else is here,
once:

- one shared `httpx.AsyncClient` per connector instance (a connection pool and one SSL context,
  not a new one per call), closeable and usable as `async with`;
- retries driven by tenacity on timeouts, connection errors, 5xx and 429: exponential backoff
  with jitter, a bounded number of attempts and a cap on the total time spent waiting, and the
  server's own hints first (`Retry-After` in seconds or as an HTTP-date, `RateLimit-Reset`, and
  whatever a subclass reads in `wait_hint`);
- statuses that fail at once (401/403/404 by default) with a reason a person can act on, and
  the human message pulled out of the common JSON error shapes;
- every secret the client knows (its token, derived forms of it, a password in the base URL)
  scrubbed from every exception message and log line it writes;
- one exception type, `HttpError(message, status, retryable)`, that connector errors subclass.

Tests make waits instant by passing `sleep=` (and `clock=` for reset headers) to the client.

    class Acme(HttpClient):
        name, vendor = "acme", "Acme"
    async with Acme("https://api.acme.test", auth=TokenAuth(token)) as acme:
        items = acme.json_body(await acme.request("GET", "/items", what="listing items"), what="items")
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import logging
import random
import ssl
import time
import weakref
from collections.abc import Awaitable, Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from importlib import metadata
from typing import Any, ClassVar, Generic, Self, TypeVar
from urllib.parse import quote, unquote, urlsplit

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type

REDACTED = "[redacted]"
MAX_MESSAGE_CHARS = 300  # a server's own explanation, once extracted; whole pages help no one
# `RateLimit-Reset` is delta seconds in the IETF draft but epoch seconds at GitLab; no delay is
# ever this long, and no epoch second this small, so the size tells them apart.
_EPOCH_THRESHOLD = 1_000_000_000

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


def _version() -> str:
    try:
        return metadata.version("autofixer")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0.0.0+unknown"


# Operators (and the vendors' abuse teams) can tell our traffic apart and reach us.
USER_AGENT = f"autofixer/{_version()}"


# ── errors ───────────────────────────────────────────────────────────────────────────────


class HttpError(Exception):
    """A call failed. `message` is safe to show (secrets removed) and says what to check;
    `retryable` tells a caller (a durable job) whether trying again later can help."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, retryable={self.retryable!r}, message={self.message!r})"


class _Retry(Exception):
    """Internal: one attempt failed in a way worth repeating. Never leaves this module."""

    def __init__(self, reason: str, *, status: int | None = None, hint: float | None = None,
                 rate_limited: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.hint = hint  # seconds the server asked for, if it said
        self.rate_limited = rate_limited


# ── auth ─────────────────────────────────────────────────────────────────────────────────


class TokenAuth(httpx.Auth):
    """`Authorization: Bearer <token>` by default; any header and scheme for other vendors
    (`PRIVATE-TOKEN: <token>` for GitLab, `X-Rollbar-Access-Token`, `DD-API-KEY` …: scheme="")."""

    def __init__(self, token: str, *, header: str = "Authorization", scheme: str = "Bearer") -> None:
        self._token = token
        self._header = header
        self._value = f"{scheme} {token}" if scheme else token

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self._token,)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self._header] = self._value
        yield request

    def __repr__(self) -> str:  # explicit, so the token never shows in a traceback's locals
        return f"TokenAuth(header={self._header!r})"


class BasicAuth(httpx.BasicAuth):
    """httpx's Basic auth that also names its secrets (the password and the encoded header
    value), so the client can scrub both (Bitbucket app passwords, Jira API tokens)."""

    def __init__(self, username: str, password: str) -> None:
        super().__init__(username, password)
        self._secrets = (password, base64.b64encode(f"{username}:{password}".encode()).decode())

    @property
    def secrets(self) -> tuple[str, ...]:
        return self._secrets

    def __repr__(self) -> str:
        return "BasicAuth()"


# ── retry policy ─────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one call tries. Production keeps the defaults; tests shrink the waits."""

    max_attempts: int = 5
    initial_wait: float = 1.0  # first backoff step, seconds; doubles on each unhinted failure
    max_wait: float = 60.0  # cap on any single wait, server hints included (see shorten_long_hints)
    # Cap on all waits of one call together: past it the call fails as retryable and the durable
    # job queue, not a coroutine holding a worker slot, decides when to try again.
    max_total_wait: float = 900.0
    # Up to this many seconds added at random to each backoff, so clients that failed together
    # do not come back together. None: as much as `initial_wait` (tiny test waits stay tiny).
    jitter: float | None = None
    # A rate-limited answer without any hint waits at least this long, doubling each time
    # (GitHub's secondary limits ask for "a minute"); 0 = the ordinary backoff.
    rate_limit_wait: float = 0.0
    # A server hint longer than max_wait: True waits max_wait and tries again; False fails at
    # once, saying when the server will take calls again, for APIs that punish early retries.
    shorten_long_hints: bool = True
    # Never retried, whatever the headers say: no wait turns bad credentials into good ones.
    fail_fast: frozenset[int] = frozenset({401, 403, 404})

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.initial_wait, self.max_wait, self.max_total_wait, self.rate_limit_wait) < 0:
            raise ValueError("waits cannot be negative")

    def backoff(self, failures: int, *, rate_limited: bool = False) -> float:
        """The wait after `failures` earlier unhinted failures of the same kind."""
        if rate_limited and self.rate_limit_wait > 0:
            return min(self.rate_limit_wait * 2**failures, self.max_wait)
        jitter = self.initial_wait if self.jitter is None else self.jitter
        return min(self.initial_wait * 2**failures + random.uniform(0, jitter), self.max_wait)


DEFAULT_RETRY = RetryPolicy()


# ── header and body parsing (pure, shared by the hooks of every connector) ──────────────


def retry_after(response: httpx.Response, now: float) -> float | None:
    """Seconds asked for by `Retry-After`, given as seconds or as an HTTP-date; None if absent."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(value).timestamp() - now
    except (TypeError, ValueError, IndexError):
        return None


def reset_wait(response: httpx.Response, header: str, now: float, *, epoch: bool | None = None) -> float | None:
    """Seconds until the rate-limit window in `header` resets. `epoch=None` guesses whether the
    value is an epoch second or a delta (see _EPOCH_THRESHOLD); None if absent or unreadable."""
    try:
        value = float(response.headers[header])
    except (KeyError, ValueError):
        return None
    if epoch is None:
        epoch = value >= _EPOCH_THRESHOLD
    return value - now if epoch else value


def error_message(body: Any) -> str:
    """The human sentence in a decoded error body, across the shapes vendors use: `message`
    (GitHub; a list or a field map at GitLab), `detail` (Sentry, FastAPI), `error` (a string,
    or Bitbucket Cloud's object), `error_description` (OAuth) and `errors[]` (GitHub 422,
    Bitbucket Data Center). '' when there is none."""
    if isinstance(body, str):
        return body.strip()
    if isinstance(body, list):
        return "; ".join(p for p in (error_message(item) for item in body) if p)
    if not isinstance(body, dict):
        return ""
    parts: list[str] = []
    for key in ("message", "detail", "error", "error_description", "msg"):
        value = body.get(key)
        if isinstance(value, dict) and key in ("message", "detail"):  # GitLab {"field": ["is invalid"]}
            text = "; ".join(f"{k} {error_message(v)}".strip() for k, v in value.items())
        elif isinstance(value, (str, list, dict)):
            text = error_message(value)
        else:
            continue
        if text and text not in parts:
            parts.append(text)
    errors = body.get("errors")
    details = [d for d in map(_one_error, errors if isinstance(errors, list) else []) if d]
    head = ": ".join(parts[:2])  # `error` + `error_description` read as one sentence
    if details:
        head = f"{head}: {'; '.join(details)}" if head else "; ".join(details)
    return head


def _one_error(err: Any) -> str:
    if isinstance(err, dict):
        return error_message(err) or " ".join(str(err[k]) for k in ("resource", "field", "code") if err.get(k))
    return str(err) if err is not None else ""


def status_phrase(response: httpx.Response) -> str:
    """'Unauthorized' for 401, even from servers (hypercorn, HTTP/2) that send no reason phrase."""
    try:
        return response.reason_phrase or HTTPStatus(response.status_code).phrase
    except ValueError:
        return ""


# ── the client ───────────────────────────────────────────────────────────────────────────


class _HttpxLogScrubber(logging.Filter):
    """httpx logs every request's full URL at INFO, and an API that takes its key in the query
    string (Rollbar's `?access_token=`) would put it there: its records lose every secret a
    live client knows, before any handler sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.clients: weakref.WeakSet[HttpClient] = weakref.WeakSet()

    def filter(self, record: logging.LogRecord) -> bool:
        clients = list(self.clients)
        if clients:
            message = scrubbed = record.getMessage()
            for client in clients:
                scrubbed = client.redact(scrubbed)
            if scrubbed != message:
                record.msg, record.args = scrubbed, ()
        return True


_HTTPX_LOG_SCRUBBER = _HttpxLogScrubber()
logging.getLogger("httpx").addFilter(_HTTPX_LOG_SCRUBBER)


@dataclass
class _Call:
    """The bookkeeping of one logical call across its attempts."""

    what: str
    failures: dict[bool, int] = field(default_factory=lambda: {False: 0, True: 0})  # by rate_limited
    gave_up: str = "attempts"  # why the retrying stopped: attempts | hint | total


class HttpClient:
    """An API client: one base URL, one shared connection pool, retries, errors and redaction.

    Override points, for connectors to declare their differences:
    `is_rate_limited(response)`, `wait_hint(response)`, `status_hint(status)`,
    `make_error(message, status=, retryable=)`; class attributes `name`, `vendor`,
    `base_url_hint`; constructor `headers=`, `auth=`, `retry=`.
    """

    name: str = "http"  # log prefix; a connector may set its configured name per instance
    vendor: ClassVar[str] = ""  # "GitHub": "GitHub API answered 404 …", "(GitHub said: …)"
    base_url_hint: ClassVar[str] = "is the base URL the API root?"  # for a non-JSON answer
    status_hints: ClassVar[Mapping[int, str]] = {
        401: "check the credentials (they may be wrong, expired or revoked)",
        403: "the credentials lack a permission for this",
        404: "it does not exist or the credentials cannot see it",
    }

    def __init__(
        self,
        base_url: str,
        *,
        auth: httpx.Auth | None = None,
        secrets: Iterable[str] = (),
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy = DEFAULT_RETRY,
        follow_redirects: bool = False,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: ssl.SSLContext | bool = True,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.time,
        logger: logging.Logger | None = None,
    ) -> None:
        self.verify = verify  # see tls_verify: an internal CA's bundle, never "off" by default
        self.base_url = normalise_base_url(base_url, what=f"{self.service} base URL")
        self.auth = auth
        self.timeout = timeout
        self.retry = retry
        self.follow_redirects = follow_redirects
        self.headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
        self._sleep = sleep
        self._clock = clock
        self._log = logger or logging.getLogger(type(self).__module__)
        url_password = unquote(urlsplit(self.base_url).password or "")  # `https://bot:secret@host`
        self._secrets = _secret_forms([*secrets, *getattr(auth, "secrets", ()), url_password])
        if self._secrets:
            _HTTPX_LOG_SCRUBBER.clients.add(self)
        self._transport = transport
        # A caller's client is shared (its pool serves others), so we never close it, and auth
        # and headers go on each request rather than onto it.
        self._borrowed = http
        self._http: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def service(self) -> str:
        return f"{self.vendor} API" if self.vendor else "API"

    def __repr__(self) -> str:  # explicit, so no attribute added later can drag a secret along
        return self.redact(f"{type(self).__name__}(base_url={self.base_url!r})")

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Release the pooled connections (a later call opens a new pool)."""
        http, loop, self._http, self._loop = self._http, self._loop, None, None
        # A pool opened on another (finished) loop cannot be closed from this one; its sockets
        # went with that loop, so dropping it is all there is to do.
        if http is not None and loop is asyncio.get_running_loop():
            await http.aclose()

    # ── requests ────────────────────────────────────────────────────────────────────────

    async def request(self, method: str, path: str, *, what: str | None = None,
                      params: Mapping[str, str] | None = None, json: Any = None,
                      headers: Mapping[str, str] | None = None, check: bool = True,
                      content: bytes | None = None) -> httpx.Response:
        """One logical call to `base_url + path`, retried while the failure is transient.

        `content` sends these exact bytes instead of `json` (a body that is signed must be
        the body that is sent). Returns the final response. With `check` (the default) a status >= 400 raises
        `make_error(...)`; with `check=False` the caller inspects it (e.g. GitHub's 422
        "already exists") and may call `raise_for_status` itself. A call that stays
        unavailable raises a retryable error naming the last failure.
        """
        call = _Call(what or f"{method} {path}")
        retrying = AsyncRetrying(
            stop=lambda state: self._stop(call, state),
            wait=lambda state: self._wait(call, state),
            retry=retry_if_exception_type(_Retry),
            sleep=self._sleep,
            before_sleep=lambda state: self._log_retry(call, state),
            reraise=True,
        )
        merged = {**self.headers, **(headers or {})}
        try:
            response: httpx.Response = await retrying(self._attempt, call, method, path, params, json, merged,
                                                      content)
        except _Retry as last:
            raise self._gave_up(call, last) from None
        if check:
            self.raise_for_status(response, what=call.what)
        return response

    async def _attempt(self, call: _Call, method: str, path: str, params: Mapping[str, str] | None, json: Any,
                       headers: dict[str, str], content: bytes | None = None) -> httpx.Response:
        try:
            response = await self._client().request(
                method, self.base_url + path, params=params, json=json, content=content, headers=headers,
                auth=self.auth, timeout=self.timeout, follow_redirects=self.follow_redirects,
            )
        except httpx.TimeoutException as exc:
            raise _Retry(f"no answer within {self.timeout:g}s ({type(exc).__name__})") from None
        except (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError) as exc:
            raise _Retry(f"connection failed ({type(exc).__name__}: {exc})") from None
        except httpx.HTTPError as exc:  # too many redirects, an undecodable body…: waiting cannot help
            raise self.make_error(self.redact(f"{self.service} call failed while {call.what}: "
                                              f"{type(exc).__name__}: {exc}"), status=None, retryable=False) from None
        status = response.status_code
        if status in self.retry.fail_fast:
            return response
        limited = self.is_rate_limited(response)
        if limited or status >= 500:
            said = self.server_message(response)
            raise _Retry(f"HTTP {status} {status_phrase(response)}{f': {said}' if said else ''}",
                         status=status, hint=self.wait_hint(response), rate_limited=limited)
        return response

    def _client(self) -> httpx.AsyncClient:
        if self._borrowed is not None:
            return self._borrowed
        loop = asyncio.get_running_loop()
        # A pooled connection belongs to the event loop that opened it. A process-wide
        # connector (one GitHub provider shared by every job) can outlive a loop (asyncio.run
        # per CLI command, a test per loop), so a new loop gets a new pool; one loop, one pool.
        if self._http is None or self._http.is_closed or self._loop is not loop:
            self._http = httpx.AsyncClient(transport=self._transport, timeout=self.timeout, verify=self.verify)
            self._loop = loop
        return self._http

    # ── retry decisions (tenacity callbacks) ────────────────────────────────────────────

    def _wait(self, call: _Call, state: RetryCallState) -> float:
        failed = _retry_of(state)
        if failed.hint is not None and failed.hint > 0:
            # Longer than max_wait: shortened, or left whole for _stop to refuse (no early retry).
            return min(failed.hint, self.retry.max_wait) if self.retry.shorten_long_hints else failed.hint
        # No usable hint (or a reset already past): back off. The exponent counts only earlier
        # unhinted failures of the same kind, so a long server-mandated wait does not also
        # inflate the next ordinary backoff.
        kind = failed.rate_limited and self.retry.rate_limit_wait > 0
        wait = self.retry.backoff(call.failures[kind], rate_limited=failed.rate_limited)
        call.failures[kind] += 1
        return wait

    def _stop(self, call: _Call, state: RetryCallState) -> bool:
        if state.attempt_number >= self.retry.max_attempts:
            call.gave_up = "attempts"
            return True
        if state.upcoming_sleep > self.retry.max_wait:
            call.gave_up = "hint"
            return True
        if state.idle_for + state.upcoming_sleep > self.retry.max_total_wait:
            call.gave_up = "total"
            return True
        return False

    def _log_retry(self, call: _Call, state: RetryCallState) -> None:
        failed = _retry_of(state)
        wait = state.next_action.sleep if state.next_action else 0.0
        self._log.warning("%s", self.redact(
            f"{self.name}: {call.what}: attempt {state.attempt_number}/{self.retry.max_attempts} failed "
            f"({failed.reason}); retrying in {wait:.1f}s"
        ))

    def _gave_up(self, call: _Call, last: _Retry) -> HttpError:
        if call.gave_up == "hint" and last.hint is not None:
            resume = datetime.fromtimestamp(self._clock() + last.hint, tz=UTC)
            trouble = "rate limit hit" if last.rate_limited else "unavailable"
            message = (f"{self.service} {trouble} while {call.what}: it asks to wait {last.hint:.0f}s "
                       f"(until {resume:%Y-%m-%d %H:%M:%S} UTC), longer than the {self.retry.max_wait:g}s "
                       f"this client waits; last answer: {last.reason}")
        elif call.gave_up == "total":
            message = (f"{self.service} at {self.base_url} still unavailable for {call.what}: retrying would "
                       f"wait more than {self.retry.max_total_wait:g}s in total; last error: {last.reason}")
        else:
            message = (f"{self.service} at {self.base_url} unavailable for {call.what} after "
                       f"{self.retry.max_attempts} attempts; last error: {last.reason}")
        return self.make_error(self.redact(message), status=last.status, retryable=True)

    # ── hooks ───────────────────────────────────────────────────────────────────────────

    def is_rate_limited(self, response: httpx.Response) -> bool:
        """Whether this (non-5xx) answer means "too many requests, come back later"."""
        return response.status_code == 429

    def wait_hint(self, response: httpx.Response) -> float | None:
        """Seconds the server asked us to wait before retrying `response`, or None to back off.
        Subclasses add their vendor's reset headers and usually fall back to this."""
        now = self._clock()
        hint = retry_after(response, now)
        return hint if hint is not None else reset_wait(response, "ratelimit-reset", now)

    def status_hint(self, status: int) -> str:
        """What to check when `status` comes back; '' when the status speaks for itself."""
        return self.status_hints.get(status, "")

    def make_error(self, message: str, *, status: int | None, retryable: bool) -> HttpError:
        """The exception this connector raises; override to return the subclass its callers catch."""
        return HttpError(message, status=status, retryable=retryable)

    # ── responses ───────────────────────────────────────────────────────────────────────

    def raise_for_status(self, response: httpx.Response, *, what: str) -> None:
        """Nothing for a success; else `make_error` with '<API> answered <status> for <what>:
        <what to check> (<vendor> said: <message>)'."""
        status = response.status_code
        if status < 400:
            return
        hint = self.status_hint(status)
        said = self.server_message(response)
        message = f"{self.service} answered {status} {status_phrase(response)} for {what}"
        message += f": {hint}" if hint else ""
        message += f" ({self.vendor or 'the server'} said: {said})" if said else ""
        raise self.make_error(self.redact(message), status=status, retryable=status == 429 or status >= 500)

    def server_message(self, response: httpx.Response) -> str:
        """The server's own explanation (JSON error body or short plain text), clipped, scrubbed."""
        body = safe_json(response)
        if body is None and response.headers.get("content-type", "").startswith("text/plain"):
            body = response.text.strip().splitlines()[0] if response.text.strip() else ""
        # Scrubbed before it is clipped: a cut through a token would leave its first half.
        message = self.redact(error_message(body))
        return message if len(message) <= MAX_MESSAGE_CHARS else message[: MAX_MESSAGE_CHARS - 1] + "…"

    def json_body(self, response: httpx.Response, *, what: str) -> Any:
        """The decoded body, or an error that hints at a wrong base URL (an HTML page, a proxy)."""
        body = safe_json(response)
        if body is None:
            kind = response.headers.get("content-type", "no content type")
            raise self.make_error(self.redact(
                f"{self.service} answered {response.status_code} with a non-JSON body ({kind}) for {what}: "
                f"{self.base_url_hint}"), status=response.status_code, retryable=False,
            )
        return body

    def redact(self, text: str) -> str:
        """`text` without any secret this client knows; applied to every message it writes."""
        # An auth that mints tokens as it goes (a GitHub App) names them in `minted_secrets`.
        minted = getattr(self.auth, "minted_secrets", ())
        for secret in (*self._secrets, *_secret_forms(minted)) if minted else self._secrets:
            text = text.replace(secret, REDACTED)
        return text


_C = TypeVar("_C", bound="HttpClient")


class SharedClient(Generic[_C]):
    """A connector's one API client, made on first use and kept for every later call (one
    connection pool and one SSL context, not one per call) until the connector's `aclose`.

    Made lazily because making it may fail (a token not set) and that is reported per call."""

    def __init__(self, make: Callable[[], _C]) -> None:
        self._make = make
        self._client: _C | None = None

    def get(self) -> _C:
        if self._client is None:
            self._client = self._make()
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


# ── helpers ──────────────────────────────────────────────────────────────────────────────


def tls_verify(ca_bundle: str | None = None, *, verify: bool = True) -> ssl.SSLContext | bool:
    """httpx's `verify=` for a server behind an internal CA: the system store plus nothing else
    (True), an SSL context trusting `ca_bundle` (a PEM file; a clear error when unreadable), or
    False for the loudly warned `tls-verify: false` escape hatch."""
    if not verify:
        return False
    if not ca_bundle:
        return True
    try:
        return ssl.create_default_context(cafile=ca_bundle)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"ca-bundle {ca_bundle!r} is not a readable PEM certificate bundle: {exc}") from None


def normalise_base_url(base_url: str, *, what: str = "base URL") -> str:
    url = base_url.strip().rstrip("/")
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"{what} must start with http:// or https://, got {base_url!r}")
    return url


def safe_json(response: httpx.Response) -> Any:
    """The decoded JSON body, or None (empty bodies, HTML error pages from proxies)."""
    try:
        return response.json()
    except ValueError:
        return None


def _secret_forms(values: Iterable[str]) -> list[str]:
    """Each secret as written and URL-encoded (as it appears in a query string or a URL),
    longest first so a secret containing another is removed whole."""
    forms = {form for v in values if v and v.strip() for form in (v, quote(v, safe=""))}
    return sorted(forms, key=len, reverse=True)


def _retry_of(state: RetryCallState) -> _Retry:
    failed = state.outcome.exception() if state.outcome else None
    assert isinstance(failed, _Retry)  # retry_if_exception_type(_Retry) lets nothing else through
    return failed


__all__ = [
    "DEFAULT_RETRY", "REDACTED", "USER_AGENT", "BasicAuth", "HttpClient", "HttpError", "RetryPolicy", "TokenAuth",
    "error_message", "normalise_base_url", "reset_wait", "retry_after", "safe_json", "status_phrase", "tls_verify",
]
