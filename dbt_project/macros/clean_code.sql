{% macro clean_code(expr, letter_case='upper') -%}
    {%- if letter_case == 'lower' -%}
        lower({{ clean_text(expr) }})
    {%- elif letter_case == 'upper' -%}
        upper({{ clean_text(expr) }})
    {%- else -%}
        {{ clean_text(expr) }}
    {%- endif -%}
{%- endmacro %}
