with source as (

    select * from {{ source('nhs', 'data_opt_outs') }}

),

renamed as (

    select
        {{ standardise('nhs_number', 'person.nhs_number') }} as nhs_number,
        {{ standardise('opted_out_on', 'time.date', {'format': 'yyyy-mm-dd'}) }} as opted_out_on,
        _source_file,
        _row_number,
        _batch_id,
        _loaded_at,
        row_number() over (
            partition by {{ standardise('nhs_number', 'person.nhs_number') }}
            order by _loaded_at desc, _batch_id desc, _row_number desc
        ) as _recency_rank
    from source

),

final as (

    select
        nhs_number,
        opted_out_on,
        {{ pseudonymise('nhs_number', 'nhs_number') }} as nhs_number_pseudonym,
        _source_file,
        _row_number,
        _batch_id,
        _loaded_at
    from renamed
    where _recency_rank = 1

)

select * from final
