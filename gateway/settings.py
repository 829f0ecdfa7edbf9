"""Gateway settings (prefix `GATEWAY_`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from gaap.crypto import SecretBox, register_box
from gaap.principal import PrincipalSigner
from gaap.settings import DEV_ENCRYPTION_KEY, DEV_SECRET, ComponentSettings, parse_keyring
from gateway.tenants.secrets import BOX as SETTINGS_BOX


class GatewaySettings(ComponentSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    component: ClassVar[str] = "gateway"
    secret_fields: ClassVar[tuple[str, ...]] = (
        "principal_keys",
        "key_encryption_keys",
        "key_hash_pepper",
        "pay_key_checksum_secret",
        "csrf_secret",
    )
    origin_fields: ClassVar[tuple[str, ...]] = ("console_issuer", "console_base_url")

    #: Where each component's API process listens (never public).
    notify_url: str = "http://127.0.0.1:8001"
    pay_url: str = "http://127.0.0.1:8002"
    identity_url: str = "http://127.0.0.1:8003"
    #: Optional host-based routing: "host=component[,host=component]", e.g. "pay.example.org=pay".
    hosts: str = ""

    #: AES-GCM keyring ("kid:base64[,...]") for Notify key secrets, which HS256 verification must read back.
    key_encryption_keys: SecretStr = SecretStr("dev:" + DEV_ENCRYPTION_KEY)
    #: HMAC pepper for stored Pay keys and admin tokens.
    key_hash_pepper: SecretStr = SecretStr(DEV_SECRET)
    #: HMAC-SHA1 secret behind the Pay key checksum (rejects garbage keys without a database read).
    pay_key_checksum_secret: SecretStr = SecretStr(DEV_SECRET)
    #: The console's page secret: CSRF tokens, and (derived apart) the signed console session cookies.
    csrf_secret: SecretStr = SecretStr(DEV_SECRET)

    #: The console signs admins in through identity as an OIDC client (`private_key_jwt`): its client id, and its
    #: private key as a JWK (EC P-256). Without a key the console cannot sign anyone in (its pages answer 503).
    console_client_id: str = "gaap-console"
    console_client_key: SecretStr = SecretStr("")
    #: Identity's issuer (default: `GAAP_PUBLIC_BASE_URL` + "/"), and the console's own public origin (default
    #: `GAAP_PUBLIC_BASE_URL`), from which its redirect URIs are built. Read per sign-in, never from `Host`.
    console_issuer: str = ""
    console_base_url: str = ""
    #: Platform operators (comma-separated emails): they see every service in the console with every role.
    console_operators: str = ""
    #: How long a console session lasts from sign-in, in seconds.
    console_session_seconds: int = 8 * 3600
    #: The console's live Notify key (the platform's "GaaP console" service, with `manage_templates`): it sends
    #: team invitations through notify's public API with the SDK, as any department sends email.
    notify_api_key: SecretStr = SecretStr("")
    #: Where that API is reached: the gateway's public origin (default: `GAAP_PUBLIC_BASE_URL`).
    notify_base_url: str = ""

    #: Largest request body forwarded. Precompiled letters are 2 MiB before base64; bulk CSVs are larger.
    max_body_bytes: int = 10 * 1024 * 1024
    max_bulk_body_bytes: int = 64 * 1024 * 1024
    upstream_connect_timeout: float = 2.0
    upstream_timeout: float = 30.0
    #: Bulk sends validate and store up to 100,000 rows in one request before answering: seconds, not milliseconds.
    bulk_upstream_timeout: float = 300.0
    upstream_pool_size: int = 256
    #: Seconds the in-memory cache of services and keys may be stale (revocation is also pushed over Redis).
    credential_cache_ttl: float = 5.0
    #: Client addresses whose X-Forwarded-For is believed (comma-separated), e.g. a load balancer.
    trusted_proxies: str = ""

    #: Per-IP limits for paths without an API key (pages, OAuth endpoints).
    anonymous_rate_per_minute: int = 600
    anonymous_burst: int = 120
    #: Per-IP limits for providers' delivery receipts and inbound texts: a provider posts one per message sent, from
    #: a few addresses, so the pages' limit would throttle delivery itself. Notify checks their credentials.
    provider_webhook_rate_per_minute: int = 120_000
    provider_webhook_burst: int = 5_000
    #: Per-IP limits for a relying party's back-channel calls to identity (`/token`, `/userinfo`): one per citizen
    #: signing in, from the few addresses of a department's servers, so the pages' limit (10 a second) would cap a
    #: whole service's sign-ins. Each carries the client's own credential, which identity checks.
    oauth_back_channel_rate_per_minute: int = 60_000
    oauth_back_channel_burst: int = 2_000
    #: Pay's per-process fallback when Redis is unreachable (pay spec §4.4).
    pay_fallback_post_per_second: int = 5
    pay_fallback_other_per_second: int = 25

    @property
    def upstreams(self) -> dict[str, str]:
        """Where each component's API listens, by component name."""
        return {"notify": self.notify_url, "pay": self.pay_url, "identity": self.identity_url}

    @property
    def console_origin(self) -> str:
        return (self.console_base_url or self.platform.public_base_url).rstrip("/")

    @property
    def notify_api_url(self) -> str:
        return self.public_url(self.notify_base_url)

    @property
    def identity_issuer(self) -> str:
        return self.console_issuer or self.platform.public_base_url.rstrip("/") + "/"

    @property
    def operator_emails(self) -> frozenset[str]:
        return frozenset(e.strip().lower() for e in self.console_operators.split(",") if e.strip())

    def register_encryption(self) -> None:
        """Make `key_encryption_keys` the keyring that seals secrets in services' settings (`gateway.tenants.secrets`):
        once per process, at start-up."""
        register_box(SETTINGS_BOX, SecretBox(self.key_encryption_keys.get_secret_value(), associated=b"gaap-gateway"))

    def principal_signer(self) -> PrincipalSigner:
        return PrincipalSigner(parse_keyring(self.principal_keys.get_secret_value()), self.principal_ttl_seconds)


def load_settings() -> GatewaySettings:
    return GatewaySettings()
