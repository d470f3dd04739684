{#- dbt's own should_full_refresh (a model's full_refresh config, else --full-refresh),
    plus the incremental models the platform names in COMMONGROUND_FULL_REFRESH
    (comma-separated model names, or * for all): those whose SQL, macros, contract or
    upstream models changed since they were last built, so a change rebuilds what depends
    on it from scratch (orchestration.incremental). -#}
{% macro should_full_refresh() %}
    {%- set configured = config.get('full_refresh') -%}
    {%- if configured is none -%}
        {%- set configured = flags.FULL_REFRESH -%}
    {%- endif -%}
    {%- set named = env_var('COMMONGROUND_FULL_REFRESH', '').split(',') -%}
    {%- do return(configured or '*' in named or model.name in named) -%}
{% endmacro %}
