"""Keyed pseudonyms: HMAC-SHA256 of a normalised identifier under the platform's key.

Equal to the dbt macro ``pseudonymise``, so Python (linkage, sharing, metrics) and SQL
(staging) give the same pseudonym for the same identifier.
"""

from __future__ import annotations

import hashlib
import hmac


def pseudonym(key: str, domain: str, value: str) -> str:
    """Keyed HMAC-SHA256 pseudonym of ``domain:value``, equal to the dbt macro ``pseudonymise``.

    Args:
        key: The pseudonymisation key.
        domain: Identifier domain (``person``, ``nino``, ...), keeps domains apart.
        value: The normalised identifier.

    Returns:
        The lower-case hex digest.
    """
    message = f"{domain}:{value}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()
