with person_records as (

    select * from {{ ref('person_records') }}

),

final as (

    select
        cast(person_key as varchar) as person_key,
        cast(min(birth_year) as integer) as birth_year,
        cast(min(sex) as varchar) as sex,
        cast(min(local_authority_code) as varchar) as local_authority_code,
        cast(count(*) as integer) as source_record_count,
        cast(count(distinct department) as integer) as department_count
    from person_records
    group by person_key

)

select * from final
