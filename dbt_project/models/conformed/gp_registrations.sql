with registrations as (

    select * from {{ ref('stg_nhs__gp_registrations') }}

),

opt_outs as (

    select * from {{ ref('stg_nhs__data_opt_outs') }}

),

person_matches as (

    select * from {{ ref('int_person_matches') }}

),

final as (

    select
        cast(registrations.registration_id as varchar) as registration_id,
        cast(person_matches.person_key as varchar) as person_key,
        cast(registrations.practice_code as varchar) as practice_code,
        cast(registrations.registered_on as date) as registered_on,
        cast(extract(year from registrations.date_of_birth) as integer) as birth_year,
        cast(registrations.sex as varchar) as sex,
        cast(opt_outs.nhs_number is not null as boolean) as opted_out,
        cast(opt_outs.opted_out_on as date) as opted_out_on
    from registrations
    left join person_matches
        on 'nhs:gp_registrations:' || registrations.registration_id = person_matches.person_record_id
    left join opt_outs
        on registrations.nhs_number = opt_outs.nhs_number

)

select * from final
