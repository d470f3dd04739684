{#-
    Statistical disclosure control over a relation whose total row (total_flag) holds the column totals.
    Primary: every count from 1 to threshold - 1 is nulled (zeros are published).
    Secondary: in a column with exactly one primary cell, the total would reveal it, so one
    more cell is nulled: the smallest non-zero published non-total cell (ties to the earliest
    row by order_by), else the total. Columns are independent, so one pass is enough.
    tests/test_disclosure.py checks it cell for cell against the Python reference.
-#}
{% macro suppress_small_counts(relation, count_columns, order_by, total_flag, threshold=10) -%}
    select
        * replace (
    {%- for column in count_columns %}
            case
                when {{ column }} > 0 and {{ column }} < {{ threshold }} then null
                when
                    sum(case when {{ column }} > 0 and {{ column }} < {{ threshold }} then 1 else 0 end) over () = 1
                    and row_number() over (
                        order by
                            case
                                when {{ column }} > 0 and {{ column }} < {{ threshold }} then 4
                                when not {{ total_flag }} and {{ column }} > 0 then 1
                                when {{ total_flag }} then 2
                                else 3
                            end,
                            {{ column }},
                            {{ order_by }}
                    ) = 1
                    then null
                else {{ column }}
            end as {{ column }}{% if not loop.last %},{% endif %}
    {%- endfor %}
        )
    from {{ relation }}
{%- endmacro %}
