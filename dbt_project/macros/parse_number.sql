{% macro parse_number(expr) -%}
    {%- set compact = regex_replace_all(expr, '[,\\s]', '') -%}
    case
        when {{ regex_matches(compact, '-?[0-9]+(\\.[0-9]+)?') }}
            then cast({{ compact }} as double)
    end
{%- endmacro %}
