{% macro clean_uprn(expr) -%}
    {%- set digits = regex_replace_all('trim(' ~ expr ~ ')', '\\.0+$', '') -%}
    case
        when {{ regex_matches(digits, '[0-9]{1,12}') }}
            then cast({{ digits }} as bigint)
    end
{%- endmacro %}
