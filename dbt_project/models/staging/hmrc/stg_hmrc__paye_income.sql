with source as (

    select * from {{ source('hmrc', 'paye_income') }}

),

renamed as (

    select
        {{ standardise('record_id', 'record.id') }} as record_id,
        {{ standardise('nino', 'person.nino') }} as nino,
        {{ standardise('forenames', 'person.given_name') }} as given_name,
        {{ standardise('surname', 'person.family_name') }} as family_name,
        {{ standardise('date_of_birth', 'person.date_of_birth', {'format': 'dd/mm/yyyy'}) }} as date_of_birth,
        {{ standardise('postcode', 'address.postcode') }} as postcode,
        {{ standardise('employer_paye_ref', 'organisation.paye_reference') }} as employer_paye_ref,
        {{ standardise('tax_year', 'time.tax_year') }} as tax_year,
        {{ standardise('period_start', 'time.date', {'format': 'dd/mm/yyyy'}) }} as period_start,
        {{ standardise('period_end', 'time.date', {'format': 'dd/mm/yyyy'}) }} as period_end,
        {{ standardise('gross_pay', 'money.gbp') }} as gross_pay,
        {{ standardise('tax_deducted', 'money.gbp') }} as tax_deducted,
        _source_file,
        _row_number,
        _batch_id,
        _loaded_at,
        row_number() over (
            partition by {{ standardise('record_id', 'record.id') }}
            order by _loaded_at desc, _batch_id desc, _row_number desc
        ) as _recency_rank
    from source

),

final as (

    select
        record_id,
        nino,
        given_name,
        family_name,
        date_of_birth,
        postcode,
        employer_paye_ref,
        tax_year,
        period_start,
        period_end,
        gross_pay,
        tax_deducted,
        {{ pseudonymise('nino', 'nino') }} as nino_pseudonym,
        _source_file,
        _row_number,
        _batch_id,
        _loaded_at
    from renamed
    where _recency_rank = 1

)

select * from final
