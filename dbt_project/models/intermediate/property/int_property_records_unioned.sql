with benefit_awards as (

    select * from {{ ref('stg_dwp__benefit_awards') }}

),

energy_certificates as (

    select * from {{ ref('stg_dluhc__energy_certificates') }}

),

council_tax as (

    select * from {{ ref('stg_council__council_tax') }}

),

school_census as (

    select * from {{ ref('stg_dfe__school_census') }}

),

unioned as (

    select
        'dwp' as department,
        'benefit_awards' as dataset,
        award_id as source_record_id,
        uprn,
        {{ address_match_key('address_line') }} as address,
        postcode,
        cast(null as varchar) as local_authority_code,
        award_start as observed_on
    from benefit_awards

    union all

    select
        'dluhc' as department,
        'energy_certificates' as dataset,
        lmk_key as source_record_id,
        uprn,
        {{ address_match_key('address_text', drops_last_part=true) }} as address,
        postcode,
        local_authority_code,
        lodgement_date as observed_on
    from energy_certificates

    union all

    select
        'council' as department,
        'council_tax' as dataset,
        account_ref as source_record_id,
        uprn,
        {{ address_match_key('address_text', drops_last_part=true) }} as address,
        postcode,
        cast(null as varchar) as local_authority_code,
        liability_start as observed_on
    from council_tax

    union all

    select
        'dfe' as department,
        'school_census' as dataset,
        upn_pseudonym as source_record_id,
        uprn,
        {{ address_match_key('address_line') }} as address,
        postcode,
        cast(null as varchar) as local_authority_code,
        census_date as observed_on
    from school_census

),

final as (

    select
        department || ':' || dataset || ':' || source_record_id as property_record_id,
        department,
        dataset,
        source_record_id,
        uprn,
        address,
        postcode,
        local_authority_code,
        observed_on
    from unioned
    where source_record_id is not null

)

select * from final
