{% set counts = ['homes_with_certificate', 'homes_rated_e_to_g', 'homes_e_to_g_income_related'] %}

with internal as (

    select * from {{ ref('fuel_poverty_risk_by_local_authority') }}

),

authorities as (

    select
        local_authority_code,
        local_authority_name,
        homes_with_certificate,
        homes_rated_e_to_g,
        homes_e_to_g_income_related,
        false as is_total
    from internal

),

-- the column totals, which secondary suppression protects
total as (

    select
        'TOTAL' as local_authority_code,
        'All local authorities' as local_authority_name,
        coalesce(sum(homes_with_certificate), 0) as homes_with_certificate,
        coalesce(sum(homes_rated_e_to_g), 0) as homes_rated_e_to_g,
        coalesce(sum(homes_e_to_g_income_related), 0) as homes_e_to_g_income_related,
        true as is_total
    from internal

),

with_total as (

    select * from authorities
    union all
    select * from total

),

suppressed as (

    {{ suppress_small_counts('with_total', counts, 'local_authority_code', 'is_total') }}

),

final as (

    select
        cast(local_authority_code as varchar) as local_authority_code,
        cast(local_authority_name as varchar) as local_authority_name,
        cast(homes_with_certificate as bigint) as homes_with_certificate,
        cast(homes_rated_e_to_g as bigint) as homes_rated_e_to_g,
        cast(homes_e_to_g_income_related as bigint) as homes_e_to_g_income_related,
        -- round half to even, as the publication always has
        cast(
            round_even(cast(homes_e_to_g_income_related as double) / nullif(homes_rated_e_to_g, 0), 4)
            as double
        ) as share_income_related,
        cast(
            {%- for column in counts %}
                ({{ column }} is null)::integer{% if not loop.last %} +{% endif %}
            {%- endfor %}
            as integer
        ) as suppressed_cells
    from suppressed
    -- the authorities in code order, then the total row
    order by is_total, local_authority_code

)

select * from final
