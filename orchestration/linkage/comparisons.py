"""The comparisons of the person model: how two records' names, dates of birth and
addresses are scored, level by level (Splink 5 comparison levels)."""

from __future__ import annotations

from collections.abc import Collection


def given_name_comparison():
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(
        output_column_name="given_name",
        comparison_levels=[
            cll.NullLevel("given_name"),
            cll.ExactMatchLevel("given_name"),
            cll.ExactMatchLevel("given_name_canonical").configure(
                label_for_charts="Same first given name (or its nickname)"
            ),
            cll.JaroWinklerLevel("given_name", 0.92),
            cll.CustomLevel(
                "given_name_l = family_name_r", label_for_charts="Given and family names swapped"
            ),
            cll.CustomLevel(
                "(length(given_name_l) = 1 or length(given_name_r) = 1) "
                "and left(given_name_l, 1) = left(given_name_r, 1)",
                label_for_charts="An initial of the other",
            ),
            cll.JaroWinklerLevel("given_name", 0.8),
            cll.ElseLevel(),
        ],
        comparison_description=(
            "Given name: exact, the same first name or its nickname, similar, swapped with the "
            "family name, or an initial"
        ),
    )


def family_name_comparison():
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(
        output_column_name="family_name",
        comparison_levels=[
            cll.NullLevel("family_name"),
            cll.ExactMatchLevel("family_name"),
            cll.JaroWinklerLevel("family_name", 0.92),
            cll.JaroWinklerLevel("family_name", 0.88),
            cll.CustomLevel(
                "family_name_l = given_name_r", label_for_charts="Given and family names swapped"
            ),
            cll.CustomLevel(
                "list_has_any(string_split(family_name_l, ' '), string_split(family_name_r, ' '))",
                label_for_charts="One part of a double-barrelled name",
            ),
            cll.JaroWinklerLevel("family_name", 0.7),
            cll.ElseLevel(),
        ],
        comparison_description=(
            "Family name: exact, similar, swapped with the given name, or one part of a "
            "double-barrelled name"
        ),
    )


def date_of_birth_comparison(threshold_years: int):
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(
        output_column_name="date_of_birth",
        comparison_levels=[
            cll.NullLevel("date_of_birth"),
            cll.ExactMatchLevel("date_of_birth"),
            cll.CustomLevel(
                "strftime(date_of_birth_l, '%Y-%m-%d') = strftime(date_of_birth_r, '%Y-%d-%m')",
                label_for_charts="Day and month transposed",
            ),
            cll.LevenshteinLevel("date_of_birth_text", distance_threshold=1).configure(
                label_for_charts="One digit different"
            ),
            cll.AbsoluteDateDifferenceLevel(
                "date_of_birth", threshold=1, metric="year", input_is_string=False
            ),
            cll.AbsoluteDateDifferenceLevel(
                "date_of_birth", threshold=threshold_years, metric="year", input_is_string=False
            ),
            cll.ElseLevel(),
        ],
        comparison_description="Date of birth: exact, transposed, one digit, within years",
    )


def postal_code_comparison():
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(
        output_column_name="postal_code",
        comparison_levels=[
            cll.NullLevel("postal_code"),
            cll.ExactMatchLevel("postal_code"),
            cll.LevenshteinLevel("postal_code", distance_threshold=1).configure(
                label_for_charts="One character different"
            ),
            cll.ElseLevel(),
        ],
        comparison_description="Postal code (any country): exact or one character different",
    )


ADDRESS_PARTS = ("postal_code", "house_number", "street", "locality", "region")
"""Address parts compared together as one address: they agree or differ together (a person
moves house as a whole), so scoring each on its own would count one piece of evidence five
times."""


def address_comparison(parts: Collection[str]):
    """One comparison of the shared address parts, from the same address down to the same
    region. Streets compare by Jaro-Winkler similarity, so that abbreviated street types
    (``Rd``, ``Road``) and typos still agree."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    def present(column: str) -> str:
        return f"{column}_l is not null and {column}_r is not null"

    def same(column: str) -> str:
        return f"{column}_l = {column}_r"

    street = "jaro_winkler_similarity(street_l, street_r) >= 0.88"
    locality = "jaro_winkler_similarity(locality_l, locality_r) >= 0.88"
    area = [same("postal_code")] if "postal_code" in parts else []
    area += [locality] if "locality" in parts else []
    any_area = f"({' or '.join(area)})" if area else "true"
    levels = [
        cll.CustomLevel(
            " and ".join(f"({column}_l is null or {column}_r is null)" for column in parts)
        ).configure(is_null_level=True, label_for_charts="No address part on both sides")
    ]
    if {"house_number", "street"} <= set(parts):
        levels.append(
            cll.CustomLevel(
                f"{same('house_number')} and {street} and {any_area}",
                label_for_charts="Same house number, street and area",
            )
        )
        levels.append(
            cll.CustomLevel(
                f"{street} and {any_area}", label_for_charts="Same street in the same area"
            )
        )
    if "house_number" in parts and area:
        levels.append(
            cll.CustomLevel(
                f"{same('house_number')} and {any_area}",
                label_for_charts="Same house number in the same area",
            )
        )
    if "postal_code" in parts:
        levels.append(
            cll.ExactMatchLevel("postal_code").configure(label_for_charts="Same postal code")
        )
    if "locality" in parts:
        levels.append(cll.CustomLevel(locality, label_for_charts="Same locality"))
    if "postal_code" in parts:
        levels.append(
            cll.LevenshteinLevel("postal_code", distance_threshold=1).configure(
                label_for_charts="Postal code one character different"
            )
        )
    if "region" in parts:
        levels.append(
            cll.CustomLevel(
                f"{present('region')} and {same('region')}", label_for_charts="Same region"
            )
        )
    levels.append(cll.ElseLevel())
    return cl.CustomComparison(
        output_column_name="address",
        comparison_levels=levels,
        comparison_description=(
            "Address (postal code, house number, street, locality, region together): the "
            "same address, street, postal code, locality or region"
        ),
    )
