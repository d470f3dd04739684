{% macro clean_text(expr) -%}
    nullif(trim({{ regex_replace_all(expr, '\\s+', ' ') }}), '')
{%- endmacro %}
