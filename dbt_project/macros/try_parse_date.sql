{% macro try_parse_date(expr, strftime_format) -%}
    {{ return(adapter.dispatch('try_parse_date', 'commonground')(expr, strftime_format)) }}
{%- endmacro %}

{% macro default__try_parse_date(expr, strftime_format) -%}
    cast(try(date_parse({{ expr }}, '{{ strftime_format }}')) as date)
{%- endmacro %}

{% macro duckdb__try_parse_date(expr, strftime_format) -%}
    cast(try_strptime({{ expr }}, '{{ strftime_format }}') as date)
{%- endmacro %}
