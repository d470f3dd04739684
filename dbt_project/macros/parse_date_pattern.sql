{% macro parse_date_pattern(text, pattern) -%}
{%- set tokens = {
'yyyy': ['%Y', '[0-9]{4}', 'year', true],
'yy': ['%y', '[0-9]{2}', 'year', true],
'mm': ['%m', '[0-9]{2}', 'month', true],
'm': ['%m', '[0-9]{1,2}', 'month', true],
'dd': ['%d', '[0-9]{2}', 'day', true],
'd': ['%d', '[0-9]{1,2}', 'day', true],
'MMM': ['%b', '[A-Za-z]{3}', 'month', false]
} -%}
{%- set ns = namespace(parts=[], run='', skip=0) -%}
{%- for i in range(pattern | length) -%}
{%- set ch = pattern[i] -%}
{%- if ns.skip > 0 -%}
{%- set ns.skip = ns.skip - 1 -%}
{%- elif ch.isalpha() -%}
{%- set ns.run = ch -%}
{%- for j in range(i + 1, pattern | length) -%}
{%- if pattern[j] == ch and ns.run | length == j - i -%}
{%- set ns.run = ns.run ~ ch -%}
{%- endif -%}
{%- endfor -%}
{%- if ns.run not in tokens -%}
{%- set message = "parse_date_pattern: '" ~ ns.run ~ "' in '" ~ pattern
    ~ "' is not a date token (use yyyy, yy, mm, m, dd, d, MMM)" -%}
{{ exceptions.raise_compiler_error(message) }}
{%- endif -%}
{%- set ns.parts = ns.parts + [ns.run] -%}
{%- set ns.skip = (ns.run | length) - 1 -%}
{%- elif ch.isdigit() or ch in "'\"\\%`" or not ch.isprintable() -%}
{%- set message = "parse_date_pattern: '" ~ ch ~ "' cannot separate the parts of a date" -%}
{{ exceptions.raise_compiler_error(message) }}
{%- else -%}
{%- set ns.parts = ns.parts + [ch] -%}
{%- endif -%}
{%- endfor -%}
{%- set ns.seen = [] -%}
{%- for p in ns.parts if p in tokens -%}
{%- set ns.seen = ns.seen + [tokens[p][2]] -%}
{%- endfor -%}
{%- for part in ['year', 'month', 'day'] -%}
{%- if ns.seen.count(part) != 1 -%}
{{ exceptions.raise_compiler_error("parse_date_pattern: '" ~ pattern ~ "' needs one " ~ part) }}
{%- endif -%}
{%- endfor -%}
{%- for k in range(1, ns.parts | length) -%}
{%- set left = ns.parts[k - 1] -%}
{%- set right = ns.parts[k] -%}
{%- set both_digits = left in tokens and right in tokens and tokens[left][3] and tokens[right][3] -%}
{%- if both_digits and (left in ('m', 'd') or right in ('m', 'd')) -%}
{%- set message = "parse_date_pattern: '" ~ left ~ "' next to '" ~ right ~ "' in '"
    ~ pattern ~ "' needs a separator" -%}
{{ exceptions.raise_compiler_error(message) }}
{%- endif -%}
{%- endfor -%}
{%- set ns.strptime = '' -%}
{%- set ns.regex = '' -%}
{%- for p in ns.parts -%}
{%- if p in tokens -%}
{%- set ns.strptime = ns.strptime ~ tokens[p][0] -%}
{%- set ns.regex = ns.regex ~ tokens[p][1] -%}
{%- else -%}
{%- set ns.strptime = ns.strptime ~ p -%}
{%- set ns.regex = ns.regex ~ (p if p == ' ' else '\\' ~ p) -%}
{%- endif -%}
{%- endfor -%}
    case
        when {{ regex_matches(text, ns.regex) }}
            then {{ try_parse_date(text, ns.strptime) }}
    end
{%- endmacro %}
