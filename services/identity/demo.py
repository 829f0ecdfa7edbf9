"""The demo relying party and the demo account that `gaap up` sets up, so a developer can sign in at once.

The client is registered like any department's: in the demo service's `settings["identity"]["clients"]` in the
gateway, with One Login's field names, pushed to identity. Its private key (an EC P-256 JWK, for
`private_key_jwt`) stays with the developer, in `var/demo.json`. The account is the console admin's (the console
signs admins in through identity): an email address, a password and a TOTP secret, so `Cl.Cm` works.
"""

from __future__ import annotations

import json
from typing import Any

from joserfc.jwk import ECKey

from gaap.db.engine import Database
from services.identity.accounts import repository as accounts
from services.identity.accounts.models import APP, User
from services.identity.accounts.passwords import hash_password
from services.identity.settings import IdentitySettings

DEMO_CLIENT_ID = "gaap-demo-client"
#: Where a relying party run on the developer's machine takes the code (any local RP may listen there).
DEMO_REDIRECT_URI = "http://127.0.0.1:8400/callback"


def new_client_key() -> str:
    """A private EC P-256 JWK, as JSON (kept in the data dir's secrets, so it survives restarts)."""
    return json.dumps(ECKey.generate_key("P-256").as_dict(private=True))


def client_record(private_jwk: str) -> dict[str, Any]:
    """The demo client, as the gateway stores it: only the public half of its key."""
    public = ECKey.import_key(json.loads(private_jwk)).as_dict(private=False)
    return {
        "ClientID": DEMO_CLIENT_ID,
        "ClientName": "GaaP demo relying party",
        "RedirectUrls": [DEMO_REDIRECT_URI],
        "PostLogoutRedirectUrls": [DEMO_REDIRECT_URI.rsplit("/", 1)[0] + "/signed-out"],
        "Scopes": ["openid", "email"],
        "ClientLoCs": ["P0"],
        "PublicKeySource": "STATIC",
        "PublicKey": public,
        "SubjectType": "pairwise",
    }


async def ensure_demo_user(settings: IdentitySettings, *, email: str, password: str, totp_secret: str) -> None:
    """Create the account, or set its password and second factor back to the demo's (idempotent)."""
    settings.register_encryption()
    db = Database(settings.database_url, pool_size=1)
    try:
        async with db.write_session() as session:
            address = email.strip().lower()
            hashed = await hash_password(password)
            user = await accounts.by_email(session, address)
            if user is None:
                session.add(User(email=address, password_hash=hashed, totp_secret=totp_secret))
            else:
                user.password_hash = hashed
                user.second_factor, user.totp_secret, user.phone_number = APP, totp_secret, None
                user.totp_last_counter = None
    finally:
        await db.dispose()
