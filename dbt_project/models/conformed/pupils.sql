with census as (

    select * from {{ ref('stg_dfe__school_census') }}

),

person_matches as (

    select * from {{ ref('int_person_matches') }}

),

property_matches as (

    select * from {{ ref('int_property_matches') }}

),

final as (

    select
        cast(census.upn_pseudonym as varchar) as pupil_key,
        cast(pupil_match.person_key as varchar) as person_key,
        cast(parent_match.person_key as varchar) as parent_person_key,
        cast(property_matches.property_key as varchar) as property_key,
        cast(property_matches.uprn as bigint) as uprn,
        cast(census.fsm_eligible as boolean) as fsm_eligible,
        cast(census.school_urn as varchar) as school_urn,
        cast(census.census_date as date) as census_date,
        cast(extract(year from census.date_of_birth) as integer) as birth_year,
        cast(census.sex as varchar) as sex
    from census
    left join person_matches as pupil_match
        on 'dfe:school_census:' || census.upn_pseudonym = pupil_match.person_record_id
    left join person_matches as parent_match
        on 'dfe:school_census:' || census.upn_pseudonym || ':parent' = parent_match.person_record_id
    left join property_matches
        on 'dfe:school_census:' || census.upn_pseudonym = property_matches.property_record_id
    where census.upn_pseudonym is not null

)

select * from final
