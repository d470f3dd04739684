with accounts as (

    select * from {{ ref('stg_council__council_tax') }}

),

person_matches as (

    select * from {{ ref('int_person_matches') }}

),

property_matches as (

    select * from {{ ref('int_property_matches') }}

),

final as (

    select
        cast({{ pseudonymise('accounts.account_ref', 'account_ref') }} as varchar) as account_key,
        cast(person_matches.person_key as varchar) as person_key,
        cast(property_matches.property_key as varchar) as property_key,
        cast(property_matches.uprn as bigint) as uprn,
        cast(accounts.council_tax_band as varchar) as council_tax_band,
        cast(accounts.liability_start as date) as liability_start,
        cast(accounts.liability_end as date) as liability_end,
        cast(accounts.single_person_discount as boolean) as single_person_discount
    from accounts
    left join person_matches
        on 'council:council_tax:' || accounts.account_ref = person_matches.person_record_id
    left join property_matches
        on 'council:council_tax:' || accounts.account_ref = property_matches.property_record_id

)

select * from final
