with certificates as (

    select * from {{ ref('stg_dluhc__energy_certificates') }}

),

property_matches as (

    select * from {{ ref('int_property_matches') }}

),

energy_ratings as (

    select * from {{ ref('energy_ratings') }}

),

main_fuels as (

    select * from {{ ref('main_fuels') }}

),

joined as (

    select
        certificates.lmk_key,
        property_matches.property_key,
        property_matches.uprn,
        certificates.local_authority_code,
        energy_ratings.energy_rating,
        case
            when main_fuels.fuel_code is not null then main_fuels.fuel_code
            when certificates.main_fuel_text is not null then 'OTHER'
        end as main_fuel_code,
        certificates.property_type,
        certificates.total_floor_area_m2,
        certificates.lodgement_date
    from certificates
    left join property_matches
        on 'dluhc:energy_certificates:' || certificates.lmk_key = property_matches.property_record_id
    left join energy_ratings
        on certificates.energy_rating = energy_ratings.energy_rating
    left join main_fuels
        on certificates.main_fuel_text = main_fuels.delivered_text

),

final as (

    select
        cast(lmk_key as varchar) as lmk_key,
        cast(property_key as varchar) as property_key,
        cast(uprn as bigint) as uprn,
        cast(local_authority_code as varchar) as local_authority_code,
        cast(energy_rating as varchar) as energy_rating,
        cast(main_fuel_code as varchar) as main_fuel_code,
        cast(property_type as varchar) as property_type,
        cast(total_floor_area_m2 as double) as total_floor_area_m2,
        cast(lodgement_date as date) as lodgement_date,
        cast(
            property_key is not null
            and row_number() over (
                partition by property_key
                order by lodgement_date desc nulls last, lmk_key desc
            ) = 1
            as boolean
        ) as is_current
    from joined

)

select * from final
