with source as (

    select * from {{ source('dwp', 'benefit_awards') }}

),

renamed as (

    select
        {{ standardise('award_id', 'record.id') }} as award_id,
        {{ standardise('nino', 'person.nino') }} as nino,
        {{ standardise('first_name', 'person.given_name') }} as given_name,
        {{ standardise('last_name', 'person.family_name') }} as family_name,
        {{ standardise('date_of_birth', 'person.date_of_birth', {'format': 'yyyy-mm-dd'}) }} as date_of_birth,
        {{ standardise('address_line_1', 'address.line') }} as address_line,
        {{ standardise('postcode', 'address.postcode') }} as postcode,
        {{ standardise('uprn', 'property.uprn') }} as uprn,
        {{ standardise('benefit_type', 'code.benefit_type') }} as benefit_type,
        {{ standardise('award_start', 'time.date', {'format': 'yyyy-mm-dd'}) }} as award_start,
        {{ standardise('award_end', 'time.date', {'format': 'yyyy-mm-dd'}) }} as award_end,
        {{ standardise('weekly_amount', 'money.gbp') }} as weekly_amount,
        _source_file,
        _row_number,
        _batch_id,
        _loaded_at,
        row_number() over (
            partition by {{ standardise('award_id', 'record.id') }}
            order by _loaded_at desc, _batch_id desc, _row_number desc
        ) as _recency_rank
    from source

),

final as (

    select
        award_id,
        nino,
        given_name,
        family_name,
        date_of_birth,
        address_line,
        postcode,
        uprn,
        benefit_type,
        award_start,
        award_end,
        weekly_amount,
        {{ pseudonymise('nino', 'nino') }} as nino_pseudonym,
        _source_file,
        _row_number,
        _batch_id,
        _loaded_at
    from renamed
    where _recency_rank = 1

)

select * from final
