"""The secrets links carry: workspace keys and share tokens, made, checked and hashed alike.

Each is 128 random bits (`secrets.token_urlsafe(16)`, 22 URL-safe characters), far beyond
guessing even by someone trying online. The store keeps only a token's sha256: someone who
reads the database finds nothing that opens a workspace or a shared run.
"""

from __future__ import annotations

import hashlib
import re
import secrets

TOKEN_BYTES = 16
_FORM = re.compile(r"[A-Za-z0-9_-]{22}")  # what token_urlsafe(16) gives, exactly


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def well_formed(token: object) -> bool:
    """Whether `token` could be one at all (anything else is refused before it is hashed)."""
    return isinstance(token, str) and _FORM.fullmatch(token) is not None


def token_hash(token: str) -> str:
    """What the store keeps in place of a token (a lookup by it leaks no timing of a match)."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()
