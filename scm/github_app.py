"""GitHub App authentication: installation access tokens, minted, cached and refreshed.

GitHub's flow (docs: "Authenticating as a GitHub App installation"):
1. a JWT signed RS256 with the app's private key, `iss` = the app's client id or numeric id,
   `iat` 60 s in the past (clock drift) and `exp` at most 10 minutes ahead;
2. `POST /app/installations/{installation_id}/access_tokens` with `Authorization: Bearer <JWT>`
   → 201 `{"token": "ghs_…", "expires_at": "…Z", …}`; the token lasts an hour;
3. the token then authenticates REST calls (`Authorization: Bearer`) and git over HTTPS (the
   password, with the user `x-access-token`).

Tokens are cached and minted again `REFRESH_MARGIN_S` before `expires_at` (the clock is
injectable for tests); concurrent callers share one mint. Nothing assumes a token's length or
shape (GitHub's stateless `ghs_APPID_JWT` tokens are longer than 40 characters). The documented
refusals become one-line errors: 401 (the JWT: app id, private key, the host's clock), 404 (no
such installation for this app), 422 (permissions not granted to the installation).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Generator, Mapping
from datetime import datetime
from typing import Any, ClassVar

import httpx
import jwt

from common.http import Clock, HttpClient, HttpError, RetryPolicy, Sleep
from scm.base import ScmError

log = logging.getLogger(__name__)

REFRESH_MARGIN_S = 300.0  # mint a new token this long before the current one expires
JWT_BACKDATE_S = 60  # GitHub's advice against clock drift
JWT_LIFETIME_S = 540  # under GitHub's 10-minute maximum, with room for drift


class _AppApi(HttpClient):
    """The one call made as the app itself (with the JWT rather than a token)."""

    vendor = "GitHub"
    status_hints: ClassVar[Mapping[int, str]] = {
        401: "GitHub rejected the app's JWT: check app-id and the private key (and that this host's clock is right)",
        403: "the app may not create tokens for this installation (suspended?)",
        404: "no installation with this id belongs to the app: check installation-id (and app-id)",
        422: "the installation was not granted the permissions requested "
             "(Contents, Pull requests and Issues: write)",
    }

    def make_error(self, message: str, *, status: int | None, retryable: bool) -> HttpError:
        return ScmError(message, status=status, retryable=retryable)


class InstallationTokens:
    """An installation's access token, minted on demand and kept until shortly before expiry."""

    def __init__(
        self,
        app_id: str,
        installation_id: int,
        private_key: str | None,
        *,
        api_url: str,
        api_version: str,
        missing_key_hint: str = "set the variable named by private-key-env (or private-key-path-env)",
        verify: Any = True,
        max_attempts: int = 5,
        initial_backoff: float = 1.0,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.app_id = str(app_id)
        self.installation_id = installation_id
        self._key = private_key
        self._missing_key_hint = missing_key_hint
        self._clock = clock
        self._api = _AppApi(api_url, secrets=[private_key or ""], timeout=30.0, verify=verify, sleep=sleep,
                            clock=clock, transport=transport,
                            retry=RetryPolicy(max_attempts=max_attempts, initial_wait=initial_backoff),
                            headers={"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": api_version})
        self._api.name = "github-app"
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.minted = 0  # how many tokens were minted (tests and logs)
        self.seen: list[str] = []  # every token handed out, for redaction

    def __repr__(self) -> str:
        return f"InstallationTokens(app_id={self.app_id!r}, installation_id={self.installation_id!r})"

    @property
    def cached(self) -> str | None:
        """The current token if it is still fresh, else None (no network)."""
        return self._token if self._fresh() else None

    async def token(self) -> str:
        if self._fresh():
            assert self._token is not None
            return self._token
        async with self._lock:
            if not self._fresh():  # another caller may have minted while we waited
                await self._mint()
            assert self._token is not None
            return self._token

    def app_jwt(self) -> str:
        if not self._key:
            raise ScmError(f"GitHub App {self.app_id}: no private key: {self._missing_key_hint}")
        now = int(self._clock())
        claims = {"iat": now - JWT_BACKDATE_S, "exp": now + JWT_LIFETIME_S, "iss": self.app_id}
        try:
            return jwt.encode(claims, self._key, algorithm="RS256")
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise ScmError(f"GitHub App {self.app_id}: the private key is not a usable RSA PEM key "
                           f"({type(exc).__name__})") from None

    def _fresh(self) -> bool:
        return self._token is not None and self._clock() < self._expires_at - REFRESH_MARGIN_S

    async def _mint(self) -> None:
        what = f"minting an installation token for installation {self.installation_id} of GitHub App {self.app_id}"
        response = await self._api.request("POST", f"/app/installations/{self.installation_id}/access_tokens",
                                           json={}, headers={"Authorization": f"Bearer {self.app_jwt()}"}, what=what)
        body = self._api.json_body(response, what="the installation token")
        try:
            token = str(body["token"])
            expires = datetime.fromisoformat(str(body["expires_at"]).replace("Z", "+00:00")).timestamp()
        except (KeyError, TypeError, ValueError) as exc:
            raise ScmError(f"GitHub answered {what} without a usable {exc}") from None
        self._token, self._expires_at = token, expires
        self.seen.append(token)
        self.minted += 1
        log.info("github-app: minted an installation token for installation %s (expires %s)",
                 self.installation_id, body["expires_at"])


class InstallationAuth(httpx.Auth):
    """`Authorization: Bearer <installation token>` on every REST call, minted when needed."""

    def __init__(self, tokens: InstallationTokens) -> None:
        self.tokens = tokens

    @property
    def minted_secrets(self) -> tuple[str, ...]:
        """Every token minted so far: the client scrubs them from its messages (common.http)."""
        return tuple(self.tokens.seen)

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("GitHub App auth needs the async client")
        yield request  # pragma: no cover

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        request.headers["Authorization"] = f"Bearer {await self.tokens.token()}"
        yield request

    def __repr__(self) -> str:
        return f"InstallationAuth({self.tokens!r})"


__all__ = ["REFRESH_MARGIN_S", "InstallationAuth", "InstallationTokens"]
