{% macro clean_nhs_number(expr) -%}
    {%- set digits = regex_replace_all(expr, '[\\s-]', '') -%}
    {%- set weighted_sum -%}
        (
        {%- for position in range(1, 10) -%}
            cast(substr({{ digits }}, {{ position }}, 1) as integer) * {{ 11 - position }}
            {%- if not loop.last %} + {% endif -%}
        {%- endfor -%}
        )
    {%- endset -%}
    case
        when {{ regex_matches(digits, '[0-9]{10}') }}
            and mod({{ weighted_sum }}, 11) != 1
            and mod(11 - mod({{ weighted_sum }}, 11), 11) = cast(substr({{ digits }}, 10, 1) as integer)
            then {{ digits }}
    end
{%- endmacro %}
