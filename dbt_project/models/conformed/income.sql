with paye_income as (

    select * from {{ ref('stg_hmrc__paye_income') }}

),

person_matches as (

    select * from {{ ref('int_person_matches') }}

),

final as (

    select
        cast({{ pseudonymise('paye_income.record_id', 'paye_record_id') }} as varchar) as paye_record_key,
        cast(person_matches.person_key as varchar) as person_key,
        cast({{ pseudonymise('paye_income.employer_paye_ref', 'employer_paye_ref') }} as varchar)
            as employer_key,
        cast(paye_income.tax_year as varchar) as tax_year,
        cast(paye_income.period_start as date) as period_start,
        cast(paye_income.period_end as date) as period_end,
        cast(paye_income.gross_pay as decimal(18, 2)) as gross_pay,
        cast(paye_income.tax_deducted as decimal(18, 2)) as tax_deducted
    from paye_income
    left join person_matches
        on 'hmrc:paye_income:' || paye_income.record_id = person_matches.person_record_id

)

select * from final
