{#- The person-matching step. A probabilistic linkage step may replace this model as
    long as it produces the same columns: person_record_id, person_key, match_rule. -#}
with records as (

    select * from {{ ref('int_person_records_unioned') }}

),

nino_holders as (

    select
        person_record_id,
        family_name,
        given_name,
        date_of_birth,
        postcode,
        'nino:' || nino as anchor,
        'nino' as match_rule
    from records
    where nino is not null

),

-- (family name, given name, date of birth) that identify exactly one NINO
nino_by_name_and_dob as (

    select
        family_name,
        given_name,
        date_of_birth,
        min(anchor) as anchor
    from nino_holders
    where family_name is not null and given_name is not null and date_of_birth is not null
    group by family_name, given_name, date_of_birth
    having count(distinct anchor) = 1

),

nhs_records as (

    select *
    from records
    where nino is null and nhs_number is not null

),

nhs_number_to_nino as (

    select
        nhs_records.nhs_number,
        min(nino_by_name_and_dob.anchor) as anchor
    from nhs_records
    inner join nino_by_name_and_dob
        on
            nhs_records.family_name = nino_by_name_and_dob.family_name
            and nhs_records.given_name = nino_by_name_and_dob.given_name
            and nhs_records.date_of_birth = nino_by_name_and_dob.date_of_birth
    group by nhs_records.nhs_number
    having count(distinct nino_by_name_and_dob.anchor) = 1

),

nhs_holders as (

    select
        nhs_records.person_record_id,
        nhs_records.family_name,
        nhs_records.given_name,
        nhs_records.date_of_birth,
        nhs_records.postcode,
        coalesce(nhs_number_to_nino.anchor, 'nhs:' || nhs_records.nhs_number) as anchor,
        case
            when nhs_number_to_nino.anchor is not null then 'nhs_number_name_dob_to_nino'
            else 'nhs_number'
        end as match_rule
    from nhs_records
    left join nhs_number_to_nino
        on nhs_records.nhs_number = nhs_number_to_nino.nhs_number

),

anchored as (

    select * from nino_holders
    union all
    select * from nhs_holders

),

anchor_by_name_dob_postcode as (

    select
        family_name,
        given_name,
        date_of_birth,
        postcode,
        min(anchor) as anchor
    from anchored
    where
        family_name is not null and given_name is not null
        and date_of_birth is not null and postcode is not null
    group by family_name, given_name, date_of_birth, postcode
    having count(distinct anchor) = 1

),

anchor_by_name_postcode as (

    select
        family_name,
        given_name,
        postcode,
        min(anchor) as anchor
    from anchored
    where family_name is not null and given_name is not null and postcode is not null
    group by family_name, given_name, postcode
    having count(distinct anchor) = 1

),

unanchored as (

    select *
    from records
    where nino is null and nhs_number is null

),

fallback as (

    select
        unanchored.person_record_id,
        case
            when by_dob.anchor is not null then by_dob.anchor
            when unanchored.date_of_birth is null and by_postcode.anchor is not null then by_postcode.anchor
            when unanchored.family_name is not null and unanchored.given_name is not null
                then
                    'name:' || unanchored.family_name || '|' || unanchored.given_name
                    || '|' || coalesce(cast(unanchored.date_of_birth as varchar), '')
                    || '|' || coalesce(unanchored.postcode, '')
            else 'record:' || unanchored.person_record_id
        end as anchor,
        case
            when by_dob.anchor is not null then 'name_dob_postcode'
            when unanchored.date_of_birth is null and by_postcode.anchor is not null then 'name_postcode'
            when unanchored.family_name is not null and unanchored.given_name is not null then 'name_dob_postcode_only'
            else 'unmatched'
        end as match_rule
    from unanchored
    left join anchor_by_name_dob_postcode as by_dob
        on
            unanchored.family_name = by_dob.family_name
            and unanchored.given_name = by_dob.given_name
            and unanchored.date_of_birth = by_dob.date_of_birth
            and unanchored.postcode = by_dob.postcode
    left join anchor_by_name_postcode as by_postcode
        on
            unanchored.family_name = by_postcode.family_name
            and unanchored.given_name = by_postcode.given_name
            and unanchored.postcode = by_postcode.postcode

),

matched as (

    select
        person_record_id,
        anchor,
        match_rule
    from anchored
    union all
    select
        person_record_id,
        anchor,
        match_rule
    from fallback

),

final as (

    select
        person_record_id,
        {{ pseudonymise('anchor', 'person') }} as person_key,
        match_rule
    from matched

)

select * from final
