{% macro clean_name(expr) -%}
    {{ clean_text(regex_replace_all('upper(replace(' ~ expr ~ ", '’', ''''))", "[^\\p{L} '-]", ' ')) }}
{%- endmacro %}
