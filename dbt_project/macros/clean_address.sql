{% macro clean_address(expr) -%}
    {%- set letters_digits_commas = regex_replace_all('upper(' ~ expr ~ ')', '[^A-Z0-9,]+', ' ') -%}
    {{ clean_text(regex_replace_all(letters_digits_commas, '\\s*,[\\s,]*', ', ')) }}
{%- endmacro %}
