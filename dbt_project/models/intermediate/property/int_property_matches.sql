{#- The property-matching step: records with a UPRN are keyed by it; records without
    one take the UPRN of the same normalised address and postcode where exactly one
    UPRN is known for them, otherwise are keyed by the address and postcode. -#}
with records as (

    select * from {{ ref('int_property_records_unioned') }}

),

uprn_by_address as (

    select
        address,
        postcode,
        min(uprn) as uprn
    from records
    where uprn is not null and address is not null and postcode is not null
    group by address, postcode
    having count(distinct uprn) = 1

),

matched as (

    select
        records.property_record_id,
        coalesce(records.uprn, uprn_by_address.uprn) as uprn,
        case
            when records.uprn is not null then 'uprn'
            when uprn_by_address.uprn is not null then 'address_postcode_to_uprn'
            when records.address is not null and records.postcode is not null then 'address_postcode'
        end as match_rule,
        case
            when records.uprn is not null then 'uprn:' || cast(records.uprn as varchar)
            when uprn_by_address.uprn is not null then 'uprn:' || cast(uprn_by_address.uprn as varchar)
            when records.address is not null and records.postcode is not null
                then 'address:' || records.address || '|' || records.postcode
        end as anchor
    from records
    left join uprn_by_address
        on
            records.uprn is null
            and records.address = uprn_by_address.address
            and records.postcode = uprn_by_address.postcode

),

final as (

    select
        property_record_id,
        {{ pseudonymise('anchor', 'property') }} as property_key,
        uprn,
        match_rule
    from matched
    where anchor is not null

)

select * from final
