"""The bench's identity topology and the relying party that uses it: the loopback topology (`bench.topology`) plus
the real identity service, and what it takes to call its token endpoint many times.

    wrk ──► gateway (2 workers) ──► identity API (`gaap serve identity`) ──► PostgreSQL, Redis
    harness: signs in once through the gateway's pages, then mints codes at identity's `/authorize`

- `IdentityTopology`: `Topology` with identity run as production runs it (`GAAP_ENV=production`, its own
  migrated PostgreSQL database, Redis, freshly generated secrets), a relying party's client registered the way the
  console registers one (`gateway.console.client_records.change`: the gateway's tenant model, its audit log and its
  outbox push to identity's `/internal/*` API, which validates the record), and a gateway routing identity's paths.
- `RelyingParty`: a department's client written without the server's JOSE stack (PyJWT, like `tests/identity`):
  PKCE S256 pairs, states, nonces, `private_key_jwt` assertions with their own `jti`, and the checks an RP makes
  of an ID token (`token_answer_problems`).
- The citizen is made with identity's own account provisioning (`services.identity.demo.ensure_demo_user`, what
  `gaap up` uses for its demo citizen: an email address, an argon2id password hash and a TOTP second factor), then
  signs in through the real pages (email, password, security code) through the gateway, as a browser without
  JavaScript would. `mint` then asks `/authorize` for one code after another with `prompt=none` on that browser
  session: single sign-on, every check of a real authorization request, and no page shown.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import secrets
import sys
import time
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import SecretStr

from bench.topology import PUBLIC_BASE_URL, ROOT, Topology, _keyring
from gaap.db.engine import Database
from gaap.db.migrate import upgrade
from gaap.settings import derive_audience_key, format_keyring, parse_keyring
from gateway.console import client_records
from gateway.sync.service import Pusher
from services.identity.accounts import totp
from services.identity.demo import ensure_demo_user
from services.identity.settings import IdentitySettings

IDENTITY_MIGRATIONS = ROOT / "services" / "identity" / "migrations"
#: The issuer identity answers as (`IDENTITY_ISSUER` defaults to the public base URL).
ISSUER = PUBLIC_BASE_URL + "/"
REDIRECT_URI = "https://rp.bench.invalid/callback"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: A pairwise `sub` as identity makes it (its default `IDENTITY_SUBJECT_PREFIX`).
SUBJECT_PREFIX = "urn:fdc:gov.uk:2022:"
#: How long each client assertion is valid: enough for minting and the run, well within identity's one hour.
ASSERTION_LIFETIME = 900
#: `/authorize` requests in flight while minting codes.
MINT_CONCURRENCY = 16
#: The gateway's per-address limit of relying parties' back-channel calls (60,000 a minute by default: one busy
#: department's servers) would refuse a load meant to stand for many relying parties and comes from one address:
#: raised, so the limiter still runs (one Redis script per request) but never refuses.
GATEWAY_LIMITS = {
    "GATEWAY_OAUTH_BACK_CHANNEL_RATE_PER_MINUTE": "100000000",
    "GATEWAY_OAUTH_BACK_CHANNEL_BURST": "1000000",
}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SIGN_IN, PASSWORD, SECURITY_CODE = "/identity/sign-in", "/identity/sign-in/password", "/identity/sign-in/security-code"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass(frozen=True)
class Grant:
    """A code minted for the relying party, with what the RP kept to redeem it, and the `/token` body that does."""

    code: str
    verifier: str
    nonce: str
    body: str


@dataclass
class RelyingParty:
    client_id: str
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    kid: str = "bench-rp-1"
    issuer: str = ISSUER
    redirect_uri: str = REDIRECT_URI

    def record(self) -> dict[str, Any]:
        """The client in One Login's field names, as the console stores it: only the public half of its key."""
        public: dict[str, Any] = jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {
            "ClientID": self.client_id,
            "ClientName": "Bench relying party",
            "RedirectUrls": [self.redirect_uri],
            "PostLogoutRedirectUrls": [self.redirect_uri.rsplit("/", 1)[0] + "/signed-out"],
            "Scopes": ["openid", "email"],
            "ClientLoCs": ["P0"],
            "IdentityVerificationSupported": False,
            "PublicKeySource": "STATIC",
            "PublicKey": {**public, "kid": self.kid, "use": "sig", "alg": "ES256"},
            "SubjectType": "pairwise",
        }

    def authorize_query(self, **extra: str) -> tuple[str, str, str, str]:
        """A code-flow request with PKCE S256, a state and a nonce: (query, state, nonce, code verifier)."""
        verifier = secrets.token_urlsafe(48)
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": "openid email",
            "state": state,
            "nonce": nonce,
            "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
            **extra,
        }
        return urlencode(params), state, nonce, verifier

    def assertion(self, now: float | None = None) -> str:
        """A `private_key_jwt` client assertion, good once (its own `jti`)."""
        issued = int(now if now is not None else time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.issuer + "token",
            "iat": issued,
            "exp": issued + ASSERTION_LIFETIME,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self.key, algorithm="ES256", headers={"kid": self.kid})

    def token_body(self, code: str, verifier: str) -> str:
        """The urlencoded `/token` request that redeems `code`."""
        return urlencode(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uri,
                "code_verifier": verifier,
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": self.assertion(),
            }
        )

    def code_from(self, location: str, state: str) -> str | None:
        """The code in identity's redirect to this RP, if it is one, for this request's `state`."""
        if not location.startswith(self.redirect_uri + "?"):
            return None
        query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        return query.get("code") if query.get("state") == state else None


def token_answer_problems(
    status: int, answer: Any, *, rp: RelyingParty, nonce: str, jwks: dict[str, Any], now: float
) -> list[str]:
    """What is wrong with a `/token` answer, by the checks a relying party makes (One Login's list): a 200 with an
    access token and an ES256 ID token whose `kid` is in the JWKS, whose signature verifies, for this issuer, this
    client and this nonce, current, with a pairwise `sub`, a `vot`, and an `at_hash` of the access token."""
    if status != 200:
        return [f"answered {status}: {str(answer)[:300]}"]
    if not isinstance(answer, dict):
        return [f"not a JSON object: {str(answer)[:300]}"]
    problems = [f"no {name}" for name in ("access_token", "id_token") if not isinstance(answer.get(name), str)]
    if str(answer.get("token_type", "")).lower() != "bearer":
        problems.append(f"token_type {answer.get('token_type')!r}")
    if problems:
        return problems
    token, access_token = answer["id_token"], answer["access_token"]
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        return [f"the ID token is not a JWT: {exc}"]
    if header.get("alg") != "ES256":
        return [f"the ID token is signed with {header.get('alg')!r}, not ES256"]
    key = next((k for k in jwks.get("keys", []) if k.get("kid") == header.get("kid")), None)
    if key is None:
        return [f"the ID token's kid {header.get('kid')!r} is not in the JWKS"]
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            jwt.PyJWK(key).key,
            algorithms=["ES256"],
            audience=rp.client_id,
            issuer=rp.issuer,
            leeway=5,
            options={"require": ["exp", "iat", "sub", "aud", "iss"]},
        )
    except jwt.PyJWTError as exc:
        return [f"the ID token does not verify: {exc}"]
    if claims.get("nonce") != nonce:
        problems.append("the ID token's nonce is not the request's")
    if not str(claims.get("sub", "")).startswith(SUBJECT_PREFIX):
        problems.append(f"the ID token's sub {claims.get('sub')!r} is not a pairwise subject")
    if not claims.get("vot"):
        problems.append("the ID token has no vot")
    if claims["iat"] > now + 5:
        problems.append("the ID token was issued in the future")
    digest = hashlib.sha256(access_token.encode()).digest()
    if "at_hash" in claims and claims["at_hash"] != b64url(digest[: len(digest) // 2]):
        problems.append("the ID token's at_hash is not the access token's")
    return problems


class PageClient:
    """A browser without JavaScript: forms posted with their CSRF token, redirects followed by hand, and cookies
    kept by hand, because identity's cookies are `Secure` (`__Host-` names in production) and a cookie jar would
    not send them over the loopback's plain HTTP."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {"Cookie": self.cookie_header()} if self.cookies else {}
        answer = self.http.request(method, url, headers=headers, **kwargs)
        for line in answer.headers.get_list("set-cookie"):
            parsed: SimpleCookie = SimpleCookie()
            parsed.load(line)
            for name, morsel in parsed.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return answer

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def submit(self, url: str, **fields: str) -> httpx.Response:
        """Post the form on `url` (loaded first, for its CSRF token)."""
        page = self.request("GET", url)
        token = _CSRF.search(page.text)
        if token is None:
            raise RuntimeError(f"no form on {url}: {page.status_code} {page.text[:300]}")
        return self.request("POST", url, data={"csrf_token": token.group(1), **fields})

    def follow(self, answer: httpx.Response) -> httpx.Response:
        """Follow same-origin redirects; stop at one off-site (to the relying party)."""
        while answer.status_code in (302, 303) and answer.headers["location"].startswith("/"):
            answer = self.request("GET", answer.headers["location"])
        return answer

    def close(self) -> None:
        self.http.close()


@dataclass(frozen=True)
class Person:
    email: str
    password: str
    totp_secret: str

    def security_code(self) -> str:
        return totp.code_at(self.totp_secret, int(time.time()) // totp.STEP)


@dataclass
class Minted:
    """What a round of `/authorize` requests gave: the grants, the failures, and how long it took."""

    grants: list[Grant] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: How many were asked for: fewer were made when the time allowed ran out first.
    requested: int = 0

    @property
    def rate(self) -> float:
        return len(self.grants) / self.seconds if self.seconds else 0.0


class IdentityTopology(Topology):
    """`with IdentityTopology(workdir) as topology:`, then `start_identity`, `register_client`,
    `start_gateway(n, "identity", extra_env=GATEWAY_LIMITS)`, `make_person`, `sign_in`, and `mint` as needed."""

    def __init__(self, workdir: Path, *, upstream_workers: int = 2) -> None:
        super().__init__(workdir, upstream_workers=upstream_workers)
        self.identity_db = ""
        self.identity_keyring = _keyring("bench")

    def start_identity(self, workers: int) -> None:
        """Identity, as `gaap serve identity` runs it, on its own database migrated with its real migrations."""
        assert self.postgres is not None
        assert self.seeded is not None
        self.identity_db = asyncio.run(self._create_identity_database())
        asyncio.run(upgrade(IDENTITY_MIGRATIONS, self.identity_db))
        kid, master = parse_keyring(self.master_keys)[0]
        env = {
            "IDENTITY_DATABASE_URL": self.identity_db,
            "IDENTITY_PRINCIPAL_KEYS": format_keyring([(kid, derive_audience_key(master, "identity"))]),
            "IDENTITY_SUBJECT_SALT": secrets.token_urlsafe(32),
            "IDENTITY_SECRET_KEY": secrets.token_urlsafe(32),
            "IDENTITY_CLIENT_SECRET_PEPPER": secrets.token_urlsafe(32),
            "IDENTITY_KEY_ENCRYPTION_KEY": self.identity_keyring,
            # Production refuses to start without a live Notify key (identity sends its codes through notify);
            # signing in with a password and an authenticator app sends nothing.
            "IDENTITY_NOTIFY_API_KEY": self.seeded.manage_key,
            "IDENTITY_ALLOW_SANDBOX_SOURCES": "true",
        }
        serve = [sys.executable, "-m", "gaap.cli.main", "serve", "identity", "--workers", str(workers)]
        self._start("identity", lambda port: [*serve, "--port", str(port)], env, "/readyz")

    async def _create_identity_database(self) -> str:
        import asyncpg

        assert self.postgres is not None
        conn = await asyncpg.connect(self.postgres.dsn)
        try:
            await conn.execute("CREATE DATABASE identity")
        finally:
            await conn.close()
        return f"postgresql+asyncpg://postgres@{self.postgres.host}:{self.postgres.port}/identity"

    def register_client(self) -> RelyingParty:
        """A relying party's client on the seeded service, registered as the console registers one: the gateway's
        tenant record, audit event and outbox push, delivered to identity, which must accept it."""
        rp = RelyingParty(client_id=client_records.new_client_id())
        asyncio.run(self._register(rp))
        return rp

    async def _register(self, rp: RelyingParty) -> None:
        assert self.settings is not None
        assert self.seeded is not None
        db = Database(self.settings.database_url, pool_size=1)
        pusher = Pusher(db, {"identity": self.url("identity")}, self.settings.principal_signer())
        try:
            verdict = await client_records.change(
                db, pusher, self.seeded.service_id, client_id=rp.client_id, record=rp.record(), actor="bench",
                action="oidc_client.create",
            )  # fmt: skip
        finally:
            await pusher.close()
            await db.dispose()
        if not verdict.delivered:
            raise RuntimeError(f"identity did not take the bench client ({verdict.status}): {verdict.message}")

    def make_person(self) -> Person:
        """A citizen's account with a password and an authenticator app, made by identity's own provisioning."""
        person = Person(f"bench-{secrets.token_hex(4)}@example.gov.uk", secrets.token_urlsafe(18), totp.new_secret())
        settings = IdentitySettings(database_url=self.identity_db, key_encryption_key=SecretStr(self.identity_keyring))
        asyncio.run(
            ensure_demo_user(settings, email=person.email, password=person.password, totp_secret=person.totp_secret)
        )
        return person

    def sign_in(self, gateway: str, rp: RelyingParty, person: Person) -> dict[str, str]:
        """Sign `person` in through `gateway`'s pages at `Cl.Cm` (email, password, security code), starting from an
        authorization request of `rp`; returns the browser's cookies (its identity session)."""
        browser = PageClient(self.url(gateway))
        try:
            query, state, _nonce, _verifier = rp.authorize_query()
            answer = browser.follow(browser.request("GET", "/authorize?" + query))
            _expect(answer.url.path == SIGN_IN and answer.status_code == 200, "the sign-in page", answer)
            answer = browser.submit(SIGN_IN, email=person.email)
            _expect(answer.headers.get("location") == PASSWORD, "the password page", answer)
            answer = browser.submit(PASSWORD, password=person.password)
            _expect(answer.headers.get("location") == SECURITY_CODE, "the security code page", answer)
            answer = browser.follow(browser.submit(SECURITY_CODE, code=person.security_code()))
            location = answer.headers.get("location", "")
            _expect(rp.code_from(location, state) is not None, "a code for the relying party", answer)
            return dict(browser.cookies)
        finally:
            browser.close()

    async def mint(self, rp: RelyingParty, cookies: dict[str, str], count: int, *, budget: float) -> Minted:
        """Up to `count` codes from identity's `/authorize` (`prompt=none` on the signed-in session), each with its
        `/token` body, `MINT_CONCURRENCY` at a time, for at most `budget` seconds. Straight to identity's port: the
        gateway only forwards these, and the time before the run is bounded by the codes' lifetime."""
        url = self.url("identity") + "/authorize?"
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
        minted = Minted(requested=count)
        started = time.monotonic()
        deadline = started + budget
        claimed = 0

        async def worker(http: aiohttp.ClientSession) -> None:
            nonlocal claimed
            while claimed < count and time.monotonic() < deadline and len(minted.failures) < 10:
                claimed += 1
                query, state, nonce, verifier = rp.authorize_query(prompt="none")
                try:
                    async with http.get(url + query, headers=headers, allow_redirects=False) as answer:
                        location = answer.headers.get("Location", "")
                        status = answer.status
                except aiohttp.ClientError as exc:
                    minted.failures.append(f"{type(exc).__name__}: {exc}")
                    continue
                code = rp.code_from(location, state)
                if status != 302 or code is None:
                    minted.failures.append(f"{status} {location[:200]}")
                    continue
                minted.grants.append(Grant(code, verifier, nonce, rp.token_body(code, verifier)))

        connector = aiohttp.TCPConnector(limit=MINT_CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as http:
            await asyncio.gather(*(worker(http) for _ in range(MINT_CONCURRENCY)))
        minted.seconds = time.monotonic() - started
        return minted


def _expect(ok: bool, what: str, answer: httpx.Response) -> None:
    if not ok:
        raise RuntimeError(
            f"signing in: expected {what}, got {answer.status_code} at {answer.url.path} "
            f"(location {answer.headers.get('location')!r}): {answer.text[:300]}"
        )
