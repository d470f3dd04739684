{% macro pseudonym_key() -%}
    '{{ env_var("COMMONGROUND_PSEUDONYM_KEY", "commonground-development-key") | replace("'", "''") }}'
{%- endmacro %}
