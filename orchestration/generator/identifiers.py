"""Vectorised generators and validators of UK identifiers: NINO, NHS number, postcode, UPN."""

from __future__ import annotations

import numpy as np
import pandas as pd

from orchestration.generator.reference import (
    NINO_BANNED_PREFIXES,
    NINO_FIRST_LETTERS,
    NINO_INVALID_FIRST_LETTERS,
    NINO_SECOND_LETTERS,
    POSTCODE_INWARD_LETTERS,
)

NHS_WEIGHTS = np.arange(10, 1, -1, dtype=np.int64)
"""Modulus-11 weights of the first nine digits of an NHS number."""


def unique_codes(rng: np.random.Generator, count: int, space: int) -> np.ndarray:
    """Draws ``count`` distinct integers in ``[0, space)`` in scrambled order.

    Uses an affine permutation ``(a * i + b) mod space`` with ``a`` coprime to ``space``,
    so memory stays O(count) whatever the size of the space.

    Args:
        rng: Random generator that picks the permutation.
        count: How many codes to draw; must not exceed ``space``.
        space: Size of the code space.

    Returns:
        An int64 array of ``count`` distinct codes.
    """
    if count > space:
        raise ValueError(f"cannot draw {count} distinct codes from a space of {space}")
    high = min(space - 1, 2**62 // max(count, 1))
    while True:
        a = int(rng.integers(high // 3, high)) if high > 3 else 1
        if np.gcd(a, space) == 1:
            break
    b = int(rng.integers(0, space))
    i = np.arange(count, dtype=np.int64)
    return ((a * i % space + b) % space)[rng.permutation(count)]


def _valid_nino_prefixes() -> np.ndarray:
    """All two-letter prefixes HMRC issues, in a fixed order."""
    prefixes = [
        f + s
        for f in NINO_FIRST_LETTERS
        for s in NINO_SECOND_LETTERS
        if f + s not in NINO_BANNED_PREFIXES
    ]
    return np.array(sorted(prefixes))


def make_ninos(rng: np.random.Generator, count: int) -> np.ndarray:
    """Generates distinct, well-formed National Insurance numbers (``AB123456C``).

    Args:
        rng: Random generator.
        count: How many numbers to generate.

    Returns:
        A string array of NINOs without spaces.
    """
    prefixes = _valid_nino_prefixes()
    codes = unique_codes(rng, count, len(prefixes) * 1_000_000)
    digits = np.char.zfill((codes % 1_000_000).astype(str), 6)
    suffix = np.array(list("ABCD"))[rng.integers(0, 4, count)]
    return np.char.add(np.char.add(prefixes[codes // 1_000_000], digits), suffix)


def invalidate_ninos(rng: np.random.Generator, ninos: np.ndarray) -> np.ndarray:
    """Replaces the first letter of each NINO with one HMRC never issues."""
    bad = np.array(list(NINO_INVALID_FIRST_LETTERS))[rng.integers(0, 6, len(ninos))]
    rest = pd.Series(ninos, dtype=object).str[1:].to_numpy(dtype=str)
    return np.char.add(bad, rest) if len(ninos) else np.asarray(ninos, dtype=str)


def space_nino(ninos: pd.Series) -> pd.Series:
    """Writes NINOs the HMRC way, with spaces: ``AB 12 34 56 C``."""
    s = ninos.str
    return s[0:2] + " " + s[2:4] + " " + s[4:6] + " " + s[6:8] + " " + s[8:9]


def nhs_check_digit(bases: np.ndarray) -> np.ndarray:
    """Modulus-11 check digit of nine-digit NHS number bases (10 means not issuable)."""
    digits = (bases[:, None] // 10 ** np.arange(8, -1, -1, dtype=np.int64)) % 10
    check = 11 - (digits @ NHS_WEIGHTS) % 11
    return np.where(check == 11, 0, check)


def make_nhs_numbers(rng: np.random.Generator, count: int) -> np.ndarray:
    """Generates distinct ten-digit NHS numbers with valid modulus-11 check digits.

    Args:
        rng: Random generator.
        count: How many numbers to generate.

    Returns:
        A string array of ten-digit NHS numbers.
    """
    draw = int(count * 1.2) + 100
    bases = 400_000_000 + unique_codes(rng, draw, 600_000_000)
    check = nhs_check_digit(bases)
    keep = check != 10
    numbers = bases[keep][:count] * 10 + check[keep][:count]
    return numbers.astype(str)


def nhs_number_is_valid(numbers: np.ndarray) -> np.ndarray:
    """Whether each ten-digit NHS number string carries a valid check digit."""
    values = np.asarray(numbers).astype(np.int64)
    check = nhs_check_digit(values // 10)
    return (check != 10) & (check == values % 10)


def break_nhs_numbers(rng: np.random.Generator, numbers: np.ndarray) -> np.ndarray:
    """Replaces each NHS number's check digit with a wrong one."""
    values = np.asarray(numbers).astype(np.int64)
    wrong = (values % 10 + rng.integers(1, 10, len(values))) % 10
    return (values // 10 * 10 + wrong).astype(str)


def make_inward_codes(rng: np.random.Generator, count: int) -> np.ndarray:
    """Random inward codes of postcodes (a digit and two letters, e.g. ``2AB``)."""
    letters = np.array(list(POSTCODE_INWARD_LETTERS))
    digit = rng.integers(0, 10, count).astype(str)
    first = letters[rng.integers(0, len(letters), count)]
    second = letters[rng.integers(0, len(letters), count)]
    return np.char.add(np.char.add(digit, first), second)


def make_upns(rng: np.random.Generator, count: int) -> np.ndarray:
    """Generates distinct Unique Pupil Numbers: a letter and twelve digits."""
    codes = unique_codes(rng, count, 26 * 10**12)
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))[codes // 10**12]
    return np.char.add(letters, np.char.zfill((codes % 10**12).astype(str), 12))
