{% macro standardise(column, attribute, options={}) -%}
    {%- if attribute == 'record.id' -%}
        {{ clean_text(column) }}
    {%- elif attribute == 'person.nino' -%}
        {{ clean_nino(column) }}
    {%- elif attribute == 'person.nhs_number' -%}
        {{ clean_nhs_number(column) }}
    {%- elif attribute == 'person.pupil_number' -%}
        {{ clean_upn(column) }}
    {%- elif attribute in ('person.given_name', 'person.family_name', 'related_person.given_name', 'related_person.family_name') -%}
        {{ clean_name(column) }}
    {%- elif attribute in ('person.date_of_birth', 'time.date') -%}
        {{ parse_date(column, options.get('format', 'any')) }}
    {%- elif attribute == 'person.sex' -%}
        {{ map_sex(column, options.get('codeSystem', 'any')) }}
    {%- elif attribute in ('address.line', 'address.text') -%}
        {{ clean_address(column) }}
    {%- elif attribute == 'address.postcode' -%}
        {{ clean_postcode(column) }}
    {%- elif attribute == 'address.postal_code' -%}
        {{ clean_postal_code(column) }}
    {%- elif attribute in ('address.street', 'address.locality', 'address.region') -%}
        {{ clean_address(column) }}
    {%- elif attribute in ('address.house_number', 'person.identifier') -%}
        {{ clean_code(column, 'upper') }}
    {%- elif attribute == 'property.uprn' -%}
        {{ clean_uprn(column) }}
    {%- elif attribute == 'money.gbp' -%}
        {{ parse_money(column) }}
    {%- elif attribute == 'measure.number' -%}
        {{ parse_number(column) }}
    {%- elif attribute == 'time.tax_year' -%}
        {{ clean_tax_year(column) }}
    {%- elif attribute in ('flag.yes_no', 'flag.true_false') -%}
        {{ parse_flag(column) }}
    {%- elif attribute == 'code.main_fuel' -%}
        {{ clean_code(column, 'lower') }}
    {%- elif attribute.startswith('code.') or attribute in ('person.ethnicity', 'geography.local_authority') -%}
        {{ clean_code(column, 'upper') }}
    {%- elif attribute.startswith('organisation.') -%}
        {{ clean_code(column, 'upper') }}
    {%- else -%}
        {%- set message = "standardise: no cleaning rule for standard attribute '" ~ attribute
            ~ "' (column " ~ column ~ "); add one to macros/standardise.sql" -%}
        {{ exceptions.raise_compiler_error(message) }}
    {%- endif -%}
{%- endmacro %}
