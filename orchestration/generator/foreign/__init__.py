"""The ``foreign`` profile: departments of a fictional country the platform has never seen.

Two departments hold the same people with a social security number (scheme
``xx.social_security``), dates of birth as ``yyyymmdd``, four-digit postal codes and
addresses in parts (house number, street, locality, region), each in its own conventions
and with mess in every field; a third holds some of them without the number. Their
contracts are in ``expectations/examples/foreign/``.
"""

from orchestration.generator.foreign.core import generate_foreign
from orchestration.generator.foreign.deliveries import DELIVERIES, Delivery
from orchestration.generator.foreign.reference import COUNTRY, IDENTIFIER_SCHEME

__all__ = ["COUNTRY", "DELIVERIES", "IDENTIFIER_SCHEME", "Delivery", "generate_foreign"]
