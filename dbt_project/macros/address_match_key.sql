{% macro address_match_key(expr, drops_last_part=false) -%}
    {%- if drops_last_part -%}
        {%- set first_lines = regex_replace_all(expr, ',[^,]*$', '') -%}
    {%- else -%}
        {%- set first_lines = expr -%}
    {%- endif -%}
    {{ clean_text(regex_replace_all(first_lines, '[^A-Z0-9]+', ' ')) }}
{%- endmacro %}
