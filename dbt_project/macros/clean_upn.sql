{% macro clean_upn(expr) -%}
    {%- set compact = 'upper(' ~ regex_replace_all(expr, '\\s', '') ~ ')' -%}
    case
        when {{ regex_matches(compact, '[A-Z][0-9]{11}[0-9A-Z]') }}
            then {{ compact }}
    end
{%- endmacro %}
