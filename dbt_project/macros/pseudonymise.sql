{#- The key never enters SQL: commonground_pseudonym is registered on dbt's DuckDB
    connections by the profile's plugin (orchestration.privacy.dbt_plugin). -#}
{% macro pseudonymise(expr, domain) -%}
    commonground_pseudonym('{{ domain }}', {{ expr }})
{%- endmacro %}
