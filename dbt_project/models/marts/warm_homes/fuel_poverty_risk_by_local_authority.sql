with certificates as (

    select * from {{ ref('energy_certificates') }}

),

benefit_awards as (

    select * from {{ ref('benefit_awards') }}

),

local_authorities as (

    select * from {{ ref('local_authorities') }}

),

-- a home belongs to the local authority on its latest certificate
current_certificates as (

    select
        property_key,
        local_authority_code,
        energy_rating
    from certificates
    where is_current and local_authority_code is not null

),

homes_on_income_related_benefits as (

    select distinct property_key
    from benefit_awards
    where
        property_key is not null
        and benefit_type in ({{ literal_list(var('income_related_benefits')) }})
        and award_start <= cast('{{ var("snapshot_date") }}' as date)
        and (award_end is null or award_end >= cast('{{ var("snapshot_date") }}' as date))

),

homes as (

    select
        current_certificates.property_key,
        current_certificates.local_authority_code,
        coalesce(
            current_certificates.energy_rating
            in ({{ literal_list(var('poor_energy_ratings')) }}),
            false
        ) as is_rated_e_to_g,
        homes_on_income_related_benefits.property_key is not null as has_income_related_award
    from current_certificates
    left join homes_on_income_related_benefits
        on current_certificates.property_key = homes_on_income_related_benefits.property_key

),

aggregated as (

    select
        local_authority_code,
        count(*) as homes_with_certificate,
        sum(case when is_rated_e_to_g then 1 else 0 end) as homes_rated_e_to_g,
        sum(case when is_rated_e_to_g and has_income_related_award then 1 else 0 end)
            as homes_e_to_g_income_related
    from homes
    group by local_authority_code

),

final as (

    select
        cast(aggregated.local_authority_code as varchar) as local_authority_code,
        cast(local_authorities.local_authority_name as varchar) as local_authority_name,
        cast(aggregated.homes_with_certificate as integer) as homes_with_certificate,
        cast(aggregated.homes_rated_e_to_g as integer) as homes_rated_e_to_g,
        cast(aggregated.homes_e_to_g_income_related as integer) as homes_e_to_g_income_related,
        cast(
            round(cast(aggregated.homes_e_to_g_income_related as double) / nullif(aggregated.homes_rated_e_to_g, 0), 4)
            as double
        ) as share_income_related
    from aggregated
    left join local_authorities
        on aggregated.local_authority_code = local_authorities.local_authority_code

)

select * from final
