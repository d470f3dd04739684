with source as (

    select * from {{ source('dfe', 'school_census') }}

),

renamed as (

    select
        {{ standardise('upn', 'person.pupil_number') }} as upn,
        {{ standardise('forename', 'person.given_name') }} as given_name,
        {{ standardise('surname', 'person.family_name') }} as family_name,
        {{ standardise('dob', 'person.date_of_birth', {'format': 'any'}) }} as date_of_birth,
        {{ standardise('gender', 'person.sex', {'codeSystem': 'letter'}) }} as sex,
        {{ standardise('ethnicity', 'person.ethnicity') }} as ethnicity_code,
        {{ standardise('uprn', 'property.uprn') }} as uprn,
        {{ standardise('address_line_1', 'address.line') }} as address_line,
        {{ standardise('postcode', 'address.postcode') }} as postcode,
        {{ standardise('parent_forename', 'related_person.given_name') }} as parent_given_name,
        {{ standardise('parent_surname', 'related_person.family_name') }} as parent_family_name,
        {{ standardise('fsm_eligible', 'flag.true_false') }} as fsm_eligible,
        {{ standardise('school_urn', 'organisation.school_urn') }} as school_urn,
        {{ standardise('census_date', 'time.date', {'format': 'yyyy-mm-dd'}) }} as census_date,
        _source_file,
        _row_number,
        _batch_id,
        _loaded_at,
        row_number() over (
            partition by {{ standardise('upn', 'person.pupil_number') }}
            order by _loaded_at desc, _batch_id desc, _row_number desc
        ) as _recency_rank
    from source

),

final as (

    select
        upn,
        given_name,
        family_name,
        date_of_birth,
        sex,
        ethnicity_code,
        uprn,
        address_line,
        postcode,
        parent_given_name,
        parent_family_name,
        fsm_eligible,
        school_urn,
        census_date,
        {{ pseudonymise('upn', 'upn') }} as upn_pseudonym,
        _source_file,
        _row_number,
        _batch_id,
        _loaded_at
    from renamed
    where _recency_rank = 1

)

select * from final
