with paye_income as (

    select * from {{ ref('stg_hmrc__paye_income') }}

),

benefit_awards as (

    select * from {{ ref('stg_dwp__benefit_awards') }}

),

gp_registrations as (

    select * from {{ ref('stg_nhs__gp_registrations') }}

),

data_opt_outs as (

    select * from {{ ref('stg_nhs__data_opt_outs') }}

),

council_tax as (

    select * from {{ ref('stg_council__council_tax') }}

),

school_census as (

    select * from {{ ref('stg_dfe__school_census') }}

),

unioned as (

    select
        'hmrc' as department,
        'paye_income' as dataset,
        record_id as source_record_id,
        'subject' as person_role,
        given_name,
        family_name,
        date_of_birth,
        cast(null as varchar) as sex,
        postcode,
        cast(null as bigint) as uprn,
        nino,
        cast(null as varchar) as nhs_number,
        nino_pseudonym,
        cast(null as varchar) as nhs_number_pseudonym,
        cast(null as varchar) as upn_pseudonym
    from paye_income

    union all

    select
        'dwp' as department,
        'benefit_awards' as dataset,
        award_id as source_record_id,
        'subject' as person_role,
        given_name,
        family_name,
        date_of_birth,
        cast(null as varchar) as sex,
        postcode,
        uprn,
        nino,
        cast(null as varchar) as nhs_number,
        nino_pseudonym,
        cast(null as varchar) as nhs_number_pseudonym,
        cast(null as varchar) as upn_pseudonym
    from benefit_awards

    union all

    select
        'nhs' as department,
        'gp_registrations' as dataset,
        registration_id as source_record_id,
        'subject' as person_role,
        given_name,
        family_name,
        date_of_birth,
        sex,
        postcode,
        cast(null as bigint) as uprn,
        cast(null as varchar) as nino,
        nhs_number,
        cast(null as varchar) as nino_pseudonym,
        nhs_number_pseudonym,
        cast(null as varchar) as upn_pseudonym
    from gp_registrations

    union all

    -- the record id of an opt-out is the NHS number itself, so its pseudonym stands in
    select
        'nhs' as department,
        'data_opt_outs' as dataset,
        nhs_number_pseudonym as source_record_id,
        'subject' as person_role,
        cast(null as varchar) as given_name,
        cast(null as varchar) as family_name,
        cast(null as date) as date_of_birth,
        cast(null as varchar) as sex,
        cast(null as varchar) as postcode,
        cast(null as bigint) as uprn,
        cast(null as varchar) as nino,
        nhs_number,
        cast(null as varchar) as nino_pseudonym,
        nhs_number_pseudonym,
        cast(null as varchar) as upn_pseudonym
    from data_opt_outs

    union all

    select
        'council' as department,
        'council_tax' as dataset,
        account_ref as source_record_id,
        'subject' as person_role,
        given_name,
        family_name,
        cast(null as date) as date_of_birth,
        cast(null as varchar) as sex,
        postcode,
        uprn,
        cast(null as varchar) as nino,
        cast(null as varchar) as nhs_number,
        cast(null as varchar) as nino_pseudonym,
        cast(null as varchar) as nhs_number_pseudonym,
        cast(null as varchar) as upn_pseudonym
    from council_tax

    union all

    -- the UPN is a direct identifier, so its pseudonym is the record id
    select
        'dfe' as department,
        'school_census' as dataset,
        upn_pseudonym as source_record_id,
        'subject' as person_role,
        given_name,
        family_name,
        date_of_birth,
        sex,
        postcode,
        uprn,
        cast(null as varchar) as nino,
        cast(null as varchar) as nhs_number,
        cast(null as varchar) as nino_pseudonym,
        cast(null as varchar) as nhs_number_pseudonym,
        upn_pseudonym
    from school_census

    union all

    select
        'dfe' as department,
        'school_census' as dataset,
        upn_pseudonym as source_record_id,
        'parent' as person_role,
        parent_given_name as given_name,
        parent_family_name as family_name,
        cast(null as date) as date_of_birth,
        cast(null as varchar) as sex,
        postcode,
        uprn,
        cast(null as varchar) as nino,
        cast(null as varchar) as nhs_number,
        cast(null as varchar) as nino_pseudonym,
        cast(null as varchar) as nhs_number_pseudonym,
        cast(null as varchar) as upn_pseudonym
    from school_census
    where parent_given_name is not null or parent_family_name is not null

),

final as (

    select
        department || ':' || dataset || ':' || source_record_id
        || case when person_role = 'parent' then ':parent' else '' end as person_record_id,
        department,
        dataset,
        source_record_id,
        person_role,
        given_name,
        family_name,
        date_of_birth,
        sex,
        postcode,
        uprn,
        nino,
        nhs_number,
        nino_pseudonym,
        nhs_number_pseudonym,
        upn_pseudonym
    from unioned
    where source_record_id is not null

)

select * from final
