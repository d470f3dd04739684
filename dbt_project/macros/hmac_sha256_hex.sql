{% macro hmac_sha256_hex(key_expr, message_expr) -%}
    {{ return(adapter.dispatch('hmac_sha256_hex', 'commonground')(key_expr, message_expr)) }}
{%- endmacro %}

{% macro default__hmac_sha256_hex(key_expr, message_expr) -%}
    lower(to_hex(hmac_sha256(to_utf8({{ message_expr }}), to_utf8({{ key_expr }}))))
{%- endmacro %}

{#- RFC 2104 written out: keys longer than the 64-byte block are hashed first, the
    key block is zero-padded, and the inner and outer pads are xor-ed as bit strings. -#}
{% macro duckdb__hmac_sha256_hex(key_expr, message_expr) -%}
    {%- set key_bytes -%}
        case
            when octet_length(encode({{ key_expr }})) > 64 then unhex(sha256(encode({{ key_expr }})))
            else encode({{ key_expr }})
        end
    {%- endset -%}
    {%- set key_block = "unhex(rpad(hex(" ~ key_bytes ~ "), 128, '0'))::bit" -%}
    lower(sha256(
        xor({{ key_block }}, repeat('\x5c'::blob, 64)::bit)::blob
        || unhex(sha256(xor({{ key_block }}, repeat('\x36'::blob, 64)::bit)::blob || encode({{ message_expr }})))
    ))
{%- endmacro %}
