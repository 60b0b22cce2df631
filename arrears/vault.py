"""National ID numbers at rest: encrypted (Fernet: AES-128-CBC + HMAC-SHA256) with a keyed hash
for look-ups, and shown only masked.

Keys come from the environment (``ARREARS_DATA_KEYS``, ``ARREARS_LOOKUP_KEY``) or the Prefect
Secret blocks ``arrears-data-keys`` / ``arrears-lookup-key``, never from a file in the repo.
``ARREARS_DATA_KEYS`` is a comma-separated list, newest first: new values are encrypted with the
first key, any listed key decrypts, and ``arrears keys rotate`` re-encrypts every stored ID
with the first key (then the old key can be dropped). The look-up key is not rotated: changing it
would orphan every hash (re-import the book to rebuild them).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from arrears.privacy import mask_id_number
from arrears.secrets import DATA_KEYS_BLOCK, LOOKUP_KEY_BLOCK, prefect_secret
from arrears.settings import Settings


class VaultUnavailable(RuntimeError):
    """No usable key: the message says which setting or Secret block to create."""


def normalise(id_number: str) -> str:
    return id_number.strip().upper()


class IdVault:
    def __init__(self, keys: Sequence[str], lookup_key: str) -> None:
        if not keys or not lookup_key:
            raise VaultUnavailable("an ID vault needs at least one data key and a lookup key")
        try:
            self._fernet = MultiFernet([Fernet(k.strip().encode()) for k in keys])
        except ValueError:
            raise VaultUnavailable(
                "ARREARS_DATA_KEYS must hold Fernet keys (32 url-safe base64 bytes): create one with `arrears keys new`"
            ) from None
        self._lookup = lookup_key.encode()

    def encrypt(self, id_number: str) -> str:
        return self._fernet.encrypt(normalise(id_number).encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise VaultUnavailable("an ID number cannot be decrypted with the configured keys") from None

    def rotate(self, token: str) -> str:
        """The same ID encrypted with the newest key."""
        return self._fernet.rotate(token.encode()).decode()

    def lookup_hash(self, id_number: str) -> str:
        return hmac.new(self._lookup, normalise(id_number).encode(), hashlib.sha256).hexdigest()

    def protect(self, id_number: str) -> dict[str, str]:
        """The borrower columns for an ID: masked for display, encrypted, and its look-up hash."""
        return {
            "id_number": mask_id_number(normalise(id_number)),
            "id_number_enc": self.encrypt(id_number),
            "id_number_hash": self.lookup_hash(id_number),
        }


def new_key() -> str:
    return Fernet.generate_key().decode()


def vault_from(settings: Settings, secret: Callable[[str], str] = prefect_secret) -> IdVault:
    """The vault from settings, else from the Prefect Secret blocks."""
    keys = settings.data_keys.get_secret_value() or secret(DATA_KEYS_BLOCK)
    lookup = settings.lookup_key.get_secret_value() or secret(LOOKUP_KEY_BLOCK)
    if not keys or not lookup:
        raise VaultUnavailable(
            "ID numbers are stored encrypted: set ARREARS_DATA_KEYS and ARREARS_LOOKUP_KEY (create each with "
            f"`arrears keys new`), or the Prefect Secret blocks {DATA_KEYS_BLOCK!r} and {LOOKUP_KEY_BLOCK!r}"
        )
    return IdVault([k for k in keys.split(",") if k.strip()], lookup)
