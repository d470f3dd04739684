{% macro clean_postcode(expr) -%}
    {%- set compact = regex_replace_all('upper(' ~ expr ~ ')', '[^A-Z0-9]', '') -%}
    case
        when {{ regex_matches(compact, '[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}') }}
            then substr({{ compact }}, 1, length({{ compact }}) - 3) || ' ' || substr({{ compact }}, length({{ compact }}) - 2)
    end
{%- endmacro %}
