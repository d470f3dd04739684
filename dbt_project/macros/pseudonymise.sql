{% macro pseudonymise(expr, domain) -%}
    case
        when {{ expr }} is not null
            then {{ hmac_sha256_hex(pseudonym_key(), "'" ~ domain ~ ":' || " ~ expr) }}
    end
{%- endmacro %}
