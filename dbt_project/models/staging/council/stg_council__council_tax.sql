with source as (

    select * from {{ source('council', 'council_tax') }}

),

renamed as (

    select
        {{ standardise('account_ref', 'record.id') }} as account_ref,
        {{ standardise('uprn', 'property.uprn') }} as uprn,
        {{ standardise('property_address', 'address.text') }} as address_text,
        {{ standardise('postcode', 'address.postcode') }} as postcode,
        {{ standardise('band', 'code.council_tax_band') }} as council_tax_band,
        {{ standardise('liable_forename', 'person.given_name') }} as given_name,
        {{ standardise('liable_surname', 'person.family_name') }} as family_name,
        {{ standardise('liability_start', 'time.date', {'format': 'excel'}) }} as liability_start,
        {{ standardise('liability_end', 'time.date', {'format': 'excel'}) }} as liability_end,
        {{ standardise('single_person_discount', 'flag.yes_no') }} as single_person_discount,
        _source_file,
        _row_number,
        _batch_id,
        _loaded_at,
        row_number() over (
            partition by {{ standardise('account_ref', 'record.id') }}
            order by _loaded_at desc, _batch_id desc, _row_number desc
        ) as _recency_rank
    from source

),

final as (

    select
        account_ref,
        uprn,
        address_text,
        postcode,
        council_tax_band,
        given_name,
        family_name,
        liability_start,
        liability_end,
        single_person_discount,
        _source_file,
        _row_number,
        _batch_id,
        _loaded_at
    from renamed
    where _recency_rank = 1

)

select * from final
