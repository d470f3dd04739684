{% macro parse_date(expr, format='any') -%}
    {%- set text = 'trim(' ~ expr ~ ')' -%}
    {%- set iso -%}
        case
            when {{ regex_matches(text, '[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([T ].*)?') }}
                then {{ try_parse_date(regex_replace_all(text, '[T ].*$', ''), '%Y-%m-%d') }}
        end
    {%- endset -%}
    {%- set day_first -%}
        case
            when {{ regex_matches(text, '[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}') }}
                then {{ try_parse_date(text, '%d/%m/%Y') }}
        end
    {%- endset -%}
    {%- set excel_serial -%}
        case
            when {{ regex_matches(text, '[0-9]{1,6}(\\.[0-9]+)?') }}
                then cast({{ dbt.dateadd('day', 'floor(cast(' ~ text ~ ' as double))', "cast('1899-12-30' as date)") }} as date)
        end
    {%- endset -%}
    {%- if format == 'dd/mm/yyyy' -%}
        {{ day_first }}
    {%- elif format == 'yyyy-mm-dd' -%}
        {{ iso }}
    {%- elif format == 'excel' -%}
        coalesce({{ excel_serial }}, {{ iso }}, {{ day_first }})
    {%- elif format == 'any' -%}
        coalesce(
            {{ iso }},
            {{ day_first }},
            {{ try_parse_date(text, '%d-%m-%Y') }},
            {{ try_parse_date(text, '%d.%m.%Y') }},
            {{ try_parse_date(text, '%Y/%m/%d') }},
            {{ excel_serial }}
        )
    {%- else -%}
        {{ parse_date_pattern(text, format) }}
    {%- endif -%}
{%- endmacro %}
