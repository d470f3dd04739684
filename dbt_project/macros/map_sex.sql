{% macro map_sex(expr, code_system='any') -%}
    {%- set accepts_nhs = code_system in ('any', 'nhs') -%}
    {%- set accepts_letter = code_system in ('any', 'letter') -%}
    {%- if not (accepts_nhs or accepts_letter) -%}
        {%- set message = "map_sex: unknown code system '" ~ code_system ~ "' (use nhs, letter or any)" -%}
        {{ exceptions.raise_compiler_error(message) }}
    {%- endif -%}
    {%- set code = 'upper(trim(' ~ expr ~ '))' -%}
    case
        when {{ accepts_nhs }} and {{ code }} in ('0', '1', '2', '9') then {{ code }}
        when {{ accepts_letter }} and {{ code }} in ('M', 'MALE') then '1'
        when {{ accepts_letter }} and {{ code }} in ('F', 'FEMALE') then '2'
        when {{ accepts_letter }} and {{ code }} in ('U', 'UNKNOWN', 'NOT KNOWN') then '0'
        when {{ accepts_letter }} and {{ code }} in ('X', 'I', 'INDETERMINATE', 'NOT SPECIFIED') then '9'
    end
{%- endmacro %}
