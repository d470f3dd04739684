with source as (

    select * from {{ source('dluhc', 'energy_certificates') }}

),

renamed as (

    select
        {{ standardise('lmk_key', 'record.id') }} as lmk_key,
        {{ standardise('uprn', 'property.uprn') }} as uprn,
        {{ standardise('address', 'address.text') }} as address_text,
        {{ standardise('postcode', 'address.postcode') }} as postcode,
        {{ standardise('local_authority', 'geography.local_authority') }} as local_authority_code,
        {{ standardise('current_energy_rating', 'code.energy_rating') }} as energy_rating,
        {{ standardise('main_fuel', 'code.main_fuel') }} as main_fuel_text,
        {{ standardise('property_type', 'code.property_type') }} as property_type,
        {{ standardise('total_floor_area', 'measure.number') }} as total_floor_area_m2,
        {{ standardise('lodgement_date', 'time.date', {'format': 'yyyy-mm-dd'}) }} as lodgement_date,
        _source_file,
        _row_number,
        _batch_id,
        _loaded_at,
        row_number() over (
            partition by {{ standardise('lmk_key', 'record.id') }}
            order by _loaded_at desc, _batch_id desc, _row_number desc
        ) as _recency_rank
    from source

),

final as (

    select
        lmk_key,
        uprn,
        address_text,
        postcode,
        local_authority_code,
        energy_rating,
        main_fuel_text,
        property_type,
        total_floor_area_m2,
        lodgement_date,
        _source_file,
        _row_number,
        _batch_id,
        _loaded_at
    from renamed
    where _recency_rank = 1

)

select * from final
