{% macro parse_money(expr) -%}
    {%- set compact = regex_replace_all('upper(' ~ expr ~ ')', '[£,\\s]|GBP', '') -%}
    case
        when {{ regex_matches(compact, '-?[0-9]+(\\.[0-9]+)?') }}
            then cast({{ compact }} as decimal(18, 2))
        when {{ regex_matches(compact, '\\(-?[0-9]+(\\.[0-9]+)?\\)') }}
            then -cast(replace(replace({{ compact }}, '(', ''), ')', '') as decimal(18, 2))
    end
{%- endmacro %}
