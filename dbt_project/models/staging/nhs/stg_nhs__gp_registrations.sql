with source as (

    select * from {{ source('nhs', 'gp_registrations') }}

),

renamed as (

    select
        {{ standardise('registration_id', 'record.id') }} as registration_id,
        {{ standardise('nhs_number', 'person.nhs_number') }} as nhs_number,
        {{ standardise('given_name', 'person.given_name') }} as given_name,
        {{ standardise('family_name', 'person.family_name') }} as family_name,
        {{ standardise('date_of_birth', 'person.date_of_birth', {'format': 'yyyy-mm-dd'}) }} as date_of_birth,
        {{ standardise('sex_code', 'person.sex', {'codeSystem': 'nhs'}) }} as sex,
        {{ standardise('postcode', 'address.postcode') }} as postcode,
        {{ standardise('practice_code', 'organisation.gp_practice') }} as practice_code,
        {{ standardise('registered_on', 'time.date', {'format': 'yyyy-mm-dd'}) }} as registered_on,
        _source_file,
        _row_number,
        _batch_id,
        _loaded_at,
        row_number() over (
            partition by {{ standardise('registration_id', 'record.id') }}
            order by _loaded_at desc, _batch_id desc, _row_number desc
        ) as _recency_rank
    from source

),

final as (

    select
        registration_id,
        nhs_number,
        given_name,
        family_name,
        date_of_birth,
        sex,
        postcode,
        practice_code,
        registered_on,
        {{ pseudonymise('nhs_number', 'nhs_number') }} as nhs_number_pseudonym,
        _source_file,
        _row_number,
        _batch_id,
        _loaded_at
    from renamed
    where _recency_rank = 1

)

select * from final
