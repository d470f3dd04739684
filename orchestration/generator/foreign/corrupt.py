"""The mess people and systems add to values as they are keyed, read or converted.

Every function takes an object array (``None`` is a missing value) and a share of values
to spoil, draws its random numbers for every value whatever it holds (so that a seed always
gives the same result) and returns a new array.
"""

from __future__ import annotations

import unicodedata

import numpy as np

from orchestration.generator.foreign.reference import KEYBOARD_NEIGHBOURS, PHONETIC_VARIANTS


def _draws(rng: np.random.Generator, values: np.ndarray, share: float, columns: int):
    """Which values to spoil (present ones only) and uniform numbers to spoil them with."""
    pick = rng.random(len(values)) < share
    numbers = rng.random((len(values), columns))
    present = np.array([v is not None and v != "" for v in values], dtype=bool)
    return np.flatnonzero(pick & present), numbers


def _keying_slip(text: str, kind: float, pos: float, key: float) -> str:
    """One keying slip: a neighbouring key, a letter dropped, doubled or swapped."""
    if len(text) < 2:
        return text
    i = min(int(pos * len(text)), len(text) - 1)
    if kind < 0.35:
        lower = text[i].lower()
        near = KEYBOARD_NEIGHBOURS.get(lower)
        if not near:
            return text
        new = near[int(key * len(near))]
        return text[:i] + (new.upper() if text[i].isupper() else new) + text[i + 1 :]
    if kind < 0.6:
        return text[:i] + text[i + 1 :] if len(text) > 3 else text
    if kind < 0.75:
        return text[:i] + text[i] + text[i:]
    j = min(i + 1, len(text) - 1)
    if i == j:
        i, j = i - 1, i
    return text[:i] + text[j] + text[i] + text[j + 1 :]


def keying_slips(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    """Gives a share of values a keying slip (and a few of them a second one)."""
    out = values.copy()
    for rate in (share, share / 4):
        idx, u = _draws(rng, out, rate, 3)
        for i in idx:
            out[i] = _keying_slip(out[i], u[i, 0], u[i, 1], u[i, 2])
    return out


def sound_alike(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    """Respells a share of values as they sound (``ph``/``f``, ``ie``/``y``, ``son``/``sen``)."""
    out = values.copy()
    idx, u = _draws(rng, out, share, 1)
    for i in idx:
        text = out[i]
        lower = text.lower()
        found = [(a, b) for a, b in PHONETIC_VARIANTS if a in lower[1:]]
        if not found:
            continue
        old, new = found[int(u[i, 0] * len(found))]
        at = lower.index(old, 1)
        out[i] = text[:at] + new + text[at + len(old) :]
    return out


def blank(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    """Leaves a share of values out."""
    out = values.copy()
    out[rng.random(len(values)) < share] = None
    return out


def replace_some(
    rng: np.random.Generator, values: np.ndarray, others: np.ndarray, share: float
) -> np.ndarray:
    """Replaces a share of values with the value at the same position in ``others``."""
    pick = rng.random(len(values)) < share
    return np.where(pick, others, values).astype(object)


def ascii_fold(values: np.ndarray) -> np.ndarray:
    """Drops diacritics (``Müller`` -> ``Muller``), as systems that hold only ASCII do."""
    out = values.copy()
    for i, text in enumerate(out):
        if text and not text.isascii():
            folded = unicodedata.normalize("NFKD", text)
            out[i] = "".join(c for c in folded if not unicodedata.combining(c))
    return out


def mistype_digits(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    """Mistypes a share of digit strings: one digit changed, or two neighbours swapped."""
    out = values.copy()
    idx, u = _draws(rng, out, share, 3)
    for i in idx:
        text = out[i]
        at = min(int(u[i, 1] * len(text)), len(text) - 1)
        if u[i, 0] < 0.6 or len(text) < 2:
            digit = str((int(text[at]) + 1 + int(u[i, 2] * 9)) % 10) if text[at].isdigit() else "0"
            out[i] = text[:at] + digit + text[at + 1 :]
        else:
            at = min(at, len(text) - 2)
            out[i] = text[:at] + text[at + 1] + text[at] + text[at + 2 :]
    return out


def yyyymmdd(rng: np.random.Generator, dob: np.ndarray, rates: dict[str, float]) -> np.ndarray:
    """Writes dates of birth as ``yyyymmdd`` text with the mess of ``rates``.

    Args:
        rng: Random generator.
        dob: Dates of birth (datetime64[D]).
        rates: Shares of ``dob_swap`` (day and month swapped where that is still a date),
            ``dob_digit`` (a digit mistyped, which can give an impossible date),
            ``dob_impossible`` (a day the month does not have, like ``19890231``) and
            ``dob_missing`` (left out).

    Returns:
        An object array of eight-character strings and ``None``.
    """
    iso = np.datetime_as_string(np.asarray(dob, dtype="datetime64[D]"), unit="D").astype(object)
    text = np.array([s.replace("-", "") for s in iso], dtype=object)
    swap = rng.random(len(text)) < rates["dob_swap"]
    for i in np.flatnonzero(swap):
        day, month = text[i][6:8], text[i][4:6]
        if int(day) <= 12 and day != month:
            text[i] = text[i][:4] + day + month
    text = mistype_digits(rng, text, rates["dob_digit"])
    impossible = rng.random(len(text)) < rates["dob_impossible"]
    kinds = rng.integers(0, 4, len(text))
    for i in np.flatnonzero(impossible):
        # February 30th or 31st, or the 31st of a thirty-day month.
        text[i] = text[i][:4] + ("0231", "0230", "0431", "0931")[kinds[i]]
    return blank(rng, text, rates["dob_missing"])
