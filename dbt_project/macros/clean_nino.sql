{% macro clean_nino(expr) -%}
    {%- set compact = 'upper(' ~ regex_replace_all(expr, '\\s', '') ~ ')' -%}
    case
        when {{ regex_matches(compact, '[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]') }}
            and substr({{ compact }}, 1, 2) not in ('BG', 'GB', 'NK', 'KN', 'TN', 'NT', 'ZZ')
            then {{ compact }}
    end
{%- endmacro %}
