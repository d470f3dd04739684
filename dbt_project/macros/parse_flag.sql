{% macro parse_flag(expr) -%}
    case
        when upper(trim({{ expr }})) in ('Y', 'YES', 'T', 'TRUE', '1') then true
        when upper(trim({{ expr }})) in ('N', 'NO', 'F', 'FALSE', '0') then false
    end
{%- endmacro %}
