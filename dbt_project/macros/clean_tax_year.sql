{% macro clean_tax_year(expr) -%}
    {%- set compact = regex_replace_all(expr, '[\\s/]', '-') -%}
    case
        when {{ regex_matches(compact, '[0-9]{4}-[0-9]{2}') }} then {{ compact }}
        when {{ regex_matches(compact, '[0-9]{4}-[0-9]{4}') }} then substr({{ compact }}, 1, 5) || substr({{ compact }}, 8, 2)
    end
{%- endmacro %}
