"""Identity settings (prefix `IDENTITY_`). Token lifetimes default to GOV.UK One Login's (identity spec §2)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from gaap.crypto import SecretBox, register_box
from gaap.settings import DEV_ENCRYPTION_KEY, DEV_SECRET, ComponentSettings, ConfigurationError

#: The keyring name under which identity's encrypted columns are registered (`gaap.crypto.register_box`).
BOX = "identity"
#: The offline breached-password list shipped with the service (spec §9.3).
BUNDLED_BREACHED_LIST = Path(__file__).resolve().parent / "accounts" / "data" / "breached-sha1.txt"
#: The shortest client-secret pepper accepted: as long as the HMAC-SHA256 key it is.
MIN_PEPPER_BYTES = 32


class IdentitySettings(ComponentSettings):
    model_config = SettingsConfigDict(env_prefix="IDENTITY_", extra="ignore")
    component: ClassVar[str] = "identity"
    #: Public origins, and the public pages discovery links to: each `https` (`http` only for 127.0.0.1 and
    #: localhost in development), checked at start-up.
    origin_fields: ClassVar[tuple[str, ...]] = (
        "issuer",
        "notify_base_url",
        "service_documentation",
        "op_policy_uri",
        "op_tos_uri",
    )
    secret_fields: ClassVar[tuple[str, ...]] = (
        "principal_keys",
        "subject_salt",
        "key_encryption_key",
        "secret_key",
        "notify_api_key",
        "client_secret_pepper",
    )

    #: The OIDC issuer: an origin with a trailing slash; defaults to the platform's public base URL.
    issuer: str = ""
    #: HMAC key for `sub` (spec §6.2). It must never change: that would change every subject identifier.
    subject_salt: SecretStr = SecretStr(DEV_SECRET)
    subject_prefix: str = "urn:fdc:gov.uk:2022:"
    #: Keyring (`kid:base64[,...]`) wrapping signing keys and TOTP secrets at rest (AES-256-GCM).
    key_encryption_key: SecretStr = SecretStr("dev:" + DEV_ENCRYPTION_KEY)
    #: The service's own secret: CSRF tokens and the keyed hashes of one-time codes derive from it.
    secret_key: SecretStr = SecretStr(DEV_SECRET)
    #: HMAC-SHA256 key for stored client secrets (spec §6, ARCHITECTURE rule 6), at least 32 bytes. Changing it
    #: makes every client secret useless: each client-secret relying party then needs a new one from the console.
    client_secret_pepper: SecretStr = SecretStr(DEV_SECRET)

    auth_code_ttl: int = 300
    access_token_ttl: int = 180
    id_token_ttl: int = 120
    logout_token_ttl: int = 120
    #: Allowed clock skew for client assertions (spec §6).
    assertion_leeway: int = 30
    session_idle_ttl: int = 3600
    session_max_ttl: int = 86_400

    #: Notify is reached through the gateway, like any department's call; defaults to the public base URL.
    notify_base_url: str = ""
    #: The live Notify key of the platform organisation's identity service.
    notify_api_key: SecretStr = SecretStr("")
    #: The emailed-code template; empty: identity finds its own by name, or creates it (`accounts/notify.py`).
    notify_template_email_code: str = ""
    #: The texted-code template; empty: identity finds its own by name, or creates it (on the priority lane).
    notify_template_sms_code: str = ""
    #: The account-notice email (a password reset, a new second factor); empty: found by name, or created.
    notify_template_account_notice: str = ""
    #: Country calling codes texts may go to, comma-separated: a guard against SMS pumping (spec §2, §9.2).
    sms_allowed_country_codes: str = "44"
    notify_timeout_seconds: float = 5.0
    breached_passwords_file: Path = BUNDLED_BREACHED_LIST

    #: Lockouts and limits (spec §9.4).
    password_max_failures: int = 5
    code_max_failures: int = 5
    account_code_max_failures: int = 6
    code_sends_per_window: int = 5
    #: Texts to one phone number, whoever asks, per `phone_send_window_seconds` (spec §9.4).
    phone_sends_per_window: int = 10
    phone_send_window_seconds: int = 86_400
    lockout_seconds: int = 900
    code_ttl_seconds: int = 900
    #: Each client's own limits at `/token` and `/userinfo`, counted once the client is known (GCRA, per minute,
    #: with a burst of a tenth of a minute's worth): one relying party's runaway loop cannot take every other's
    #: share. The gateway's per-address limits apply first.
    token_rate_per_client_per_minute: int = 120_000
    userinfo_rate_per_client_per_minute: int = 120_000

    #: Key rotation (spec §8).
    key_rotation_days: int = 180
    key_publish_lead_h: int = 48
    key_retire_h: int = 48
    #: How long a process keeps its copy of the key sets before re-reading them (promotions reach every process).
    key_refresh_seconds: float = 30.0

    #: Discovery's `service_documentation` (spec §4, R1): empty means identity's own page for relying-party
    #: developers, `{issuer}identity/documentation`, which every `error_uri` points into whatever this says.
    service_documentation: str = ""
    #: Discovery's `op_policy_uri` and `op_tos_uri`: the privacy notice and terms of use relying parties show
    #: their users. Empty: left out of discovery.
    op_policy_uri: str = ""
    op_tos_uri: str = ""

    #: Identity proving (spec §10): the core identity JWT's `iss`, whose host names the DID (default: the issuer).
    core_identity_issuer: str = ""
    #: A stored identity is reused with no new checks for this many days (spec §10.6).
    identity_reuse_days: int = 180
    #: Evidence sources as `package.module:Class`; empty: the built-in sandbox (spec §10.5).
    source_passport: str = ""
    source_driving_licence: str = ""
    source_fraud: str = ""
    source_kbv: str = ""
    #: Production refuses to start with a sandbox source unless this is set.
    allow_sandbox_sources: bool = False

    @model_validator(mode="after")
    def _pepper_length(self) -> IdentitySettings:
        if len(self.client_secret_pepper.get_secret_value().encode()) < MIN_PEPPER_BYTES:
            raise ConfigurationError(f"IDENTITY_CLIENT_SECRET_PEPPER must be at least {MIN_PEPPER_BYTES} bytes")
        return self

    @property
    def issuer_url(self) -> str:
        return self.public_url(self.issuer) + "/"

    @property
    def core_identity_issuer_url(self) -> str:
        return self.public_url(self.core_identity_issuer or self.issuer) + "/"

    @property
    def notify_url(self) -> str:
        return self.public_url(self.notify_base_url)

    @property
    def sms_country_codes(self) -> tuple[str, ...]:
        return tuple(code.strip().lstrip("+") for code in self.sms_allowed_country_codes.split(",") if code.strip())

    @property
    def cookies_secure(self) -> bool:
        """Only development over plain http drops `Secure` and the `__Host-` prefix (browsers would refuse them)."""
        return self.issuer_url.startswith("https://") or not self.platform.is_development

    def register_encryption(self) -> None:
        """Make the key-encryption key the one identity's encrypted columns use (once per process, at start-up)."""
        register_box(BOX, SecretBox(self.key_encryption_key.get_secret_value(), associated=b"gaap-identity"))
