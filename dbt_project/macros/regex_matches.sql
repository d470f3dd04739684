{% macro regex_matches(expr, pattern) -%}
    {{ return(adapter.dispatch('regex_matches', 'commonground')(expr, pattern)) }}
{%- endmacro %}

{% macro default__regex_matches(expr, pattern) -%}
    regexp_like({{ expr }}, '^(?:{{ pattern | replace("'", "''") }})$')
{%- endmacro %}

{% macro duckdb__regex_matches(expr, pattern) -%}
    regexp_full_match({{ expr }}, '{{ pattern | replace("'", "''") }}')
{%- endmacro %}
