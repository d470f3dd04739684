with registrations as (

    select * from {{ ref('stg_nhs__gp_registrations') }}

),

opt_outs as (

    select * from {{ ref('stg_nhs__data_opt_outs') }}

),

person_matches as (

    select * from {{ ref('int_person_matches') }}

),

-- the national data opt-out: opted-out patients' registrations leave no trace here
consented as (

    select registrations.*
    from registrations
    left join opt_outs
        on registrations.nhs_number = opt_outs.nhs_number
    where opt_outs.nhs_number is null

),

final as (

    select
        cast({{ pseudonymise('consented.registration_id', 'registration_id') }} as varchar)
            as registration_key,
        cast(person_matches.person_key as varchar) as person_key,
        cast(consented.practice_code as varchar) as practice_code,
        cast(consented.registered_on as date) as registered_on,
        cast(extract(year from consented.date_of_birth) as integer) as birth_year,
        cast(consented.sex as varchar) as sex
    from consented
    left join person_matches
        on 'nhs:gp_registrations:' || consented.registration_id = person_matches.person_record_id

)

select * from final
