"""Keys derived from the secret key: encryption of personal data, lookup hashes, signed tokens.

Each purpose gets its own key (HKDF), so a token signature can never be replayed as a hash.
Changing RESCUEOPS_SECRET_KEY makes stored ID numbers unreadable: keep it with the backups.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from itsdangerous import BadSignature, URLSafeSerializer

from rescueops.settings import get_settings


@cache
def _key(purpose: str) -> bytes:
    secret = get_settings().resolved_secret_key().encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"rescueops:{purpose}".encode()).derive(secret)


@cache
def _fernet() -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_key("encrypt")))


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode()


def encrypt_bytes(data: bytes) -> str:
    return _fernet().encrypt(data).decode()


def decrypt(token: str) -> str:
    return decrypt_bytes(token).decode()


def decrypt_bytes(token: str) -> bytes:
    try:
        return _fernet().decrypt(token.encode())
    except InvalidToken as error:
        raise ValueError("encrypted value cannot be read with the current secret key") from error


def lookup_hash(text: str) -> str:
    """Deterministic keyed hash: finds equal values (duplicate ID numbers) without storing them."""
    return hmac.new(_key("lookup"), text.encode(), hashlib.sha256).hexdigest()


def sign(purpose: str, payload: dict) -> str:
    return URLSafeSerializer(base64.urlsafe_b64encode(_key(purpose)).decode(), salt=purpose).dumps(payload)


def unsign(purpose: str, token: str) -> dict | None:
    try:
        payload = URLSafeSerializer(base64.urlsafe_b64encode(_key(purpose)).decode(), salt=purpose).loads(token)
    except BadSignature:
        return None
    return payload if isinstance(payload, dict) else None
