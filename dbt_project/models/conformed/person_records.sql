with person_records as (

    select * from {{ ref('int_person_records_unioned') }}

),

person_matches as (

    select * from {{ ref('int_person_matches') }}

),

properties as (

    select * from {{ ref('properties') }}

),

final as (

    select
        cast(person_records.person_record_key as varchar) as person_record_key,
        cast(person_matches.person_key as varchar) as person_key,
        cast(person_matches.match_rule as varchar) as match_rule,
        cast(person_records.department as varchar) as department,
        cast(person_records.dataset as varchar) as dataset,
        cast(person_records.person_role as varchar) as person_role,
        cast(extract(year from person_records.date_of_birth) as integer) as birth_year,
        cast(person_records.sex as varchar) as sex,
        cast(properties.local_authority_code as varchar) as local_authority_code
    from person_records
    inner join person_matches
        on person_records.person_record_id = person_matches.person_record_id
    left join properties
        on person_records.uprn = properties.uprn

)

select * from final
