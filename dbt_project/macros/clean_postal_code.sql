{% macro clean_postal_code(expr) -%}
    nullif(upper({{ regex_replace_all(expr, '\\s+', '') }}), '')
{%- endmacro %}
