with awards as (

    select * from {{ ref('stg_dwp__benefit_awards') }}

),

person_matches as (

    select * from {{ ref('int_person_matches') }}

),

property_matches as (

    select * from {{ ref('int_property_matches') }}

),

benefit_types as (

    select * from {{ ref('benefit_types') }}

),

final as (

    select
        cast({{ pseudonymise('awards.award_id', 'award_id') }} as varchar) as award_key,
        cast(person_matches.person_key as varchar) as person_key,
        cast(property_matches.property_key as varchar) as property_key,
        cast(property_matches.uprn as bigint) as uprn,
        cast(awards.benefit_type as varchar) as benefit_type,
        cast(benefit_types.income_related as boolean) as income_related,
        cast(awards.award_start as date) as award_start,
        cast(awards.award_end as date) as award_end,
        cast(awards.weekly_amount as decimal(18, 2)) as weekly_amount
    from awards
    left join person_matches
        on 'dwp:benefit_awards:' || awards.award_id = person_matches.person_record_id
    left join property_matches
        on 'dwp:benefit_awards:' || awards.award_id = property_matches.property_record_id
    left join benefit_types
        on awards.benefit_type = benefit_types.benefit_code

)

select * from final
