with property_records as (

    select * from {{ ref('int_property_records_unioned') }}

),

property_matches as (

    select * from {{ ref('int_property_matches') }}

),

ranked as (

    select
        property_matches.property_key,
        property_matches.uprn,
        property_records.postcode,
        property_records.local_authority_code,
        row_number() over (
            partition by property_matches.property_key
            order by
                case when property_records.postcode is null then 1 else 0 end asc,
                property_records.observed_on desc nulls last,
                property_records.property_record_id asc
        ) as postcode_rank,
        row_number() over (
            partition by property_matches.property_key
            order by
                case when property_records.local_authority_code is null then 1 else 0 end asc,
                property_records.observed_on desc nulls last,
                property_records.property_record_id asc
        ) as local_authority_rank
    from property_matches
    inner join property_records
        on property_matches.property_record_id = property_records.property_record_id

),

final as (

    select
        cast(property_key as varchar) as property_key,
        cast(max(uprn) as bigint) as uprn,
        cast(max(case when postcode_rank = 1 then postcode end) as varchar) as postcode,
        cast(max(case when local_authority_rank = 1 then local_authority_code end) as varchar)
            as local_authority_code,
        cast(count(*) as integer) as source_record_count
    from ranked
    group by property_key

)

select * from final
