with benefit_awards as (

    select * from {{ ref('benefit_awards') }}

),

income as (

    select * from {{ ref('income') }}

),

income_related_awards as (

    select
        award_key,
        person_key,
        benefit_type,
        award_start,
        award_end,
        coalesce(award_end, cast('{{ var("snapshot_date") }}' as date)) as period_end
    from benefit_awards
    where
        person_key is not null
        and award_start is not null
        and benefit_type in ({{ literal_list(var('income_related_benefits')) }})

),

award_overlaps as (

    select
        income_related_awards.award_key,
        income_related_awards.person_key,
        income_related_awards.benefit_type,
        income_related_awards.award_start,
        income_related_awards.award_end,
        sum(income.gross_pay) as overlapping_gross_pay,
        count(distinct income.employer_key) as employments
    from income_related_awards
    inner join income
        on
            income_related_awards.person_key = income.person_key
            and income_related_awards.period_end >= income.period_start
            and income_related_awards.award_start <= income.period_end
    group by
        income_related_awards.award_key,
        income_related_awards.person_key,
        income_related_awards.benefit_type,
        income_related_awards.award_start,
        income_related_awards.award_end

),

final as (

    select
        cast(award_key as varchar) as award_key,
        cast(person_key as varchar) as person_key,
        cast(benefit_type as varchar) as benefit_type,
        cast(award_start as date) as award_start,
        cast(award_end as date) as award_end,
        cast(overlapping_gross_pay as decimal(18, 2)) as overlapping_gross_pay,
        cast(employments as integer) as employments
    from award_overlaps
    where overlapping_gross_pay > {{ var('undeclared_income_threshold_gbp') }}

)

select * from final
