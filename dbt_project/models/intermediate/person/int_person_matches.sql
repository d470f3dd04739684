{#- The person-matching step: the person index built by the probabilistic linkage asset
    (linkage/person_matches, Splink). Kept as a model so that everything downstream reads
    the same three columns whatever builds the index. -#}
with person_matches as (

    select * from {{ source('linkage', 'person_matches') }}

),

final as (

    select
        person_record_id,
        person_key,
        match_rule
    from person_matches

)

select * from final
