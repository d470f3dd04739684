"""Stand-ins for dbt's Jinja context, so sqlfluff's jinja templater can render models.

sqlfluff's dbt templater is not installed; the jinja templater with
``apply_dbt_builtins`` supplies ref/source/config/var, and this library supplies the
rest that our macros call: ``adapter.dispatch`` (resolved to the DuckDB
implementation, as dbt does for our target), ``env_var``, ``exceptions`` and the
``dbt`` namespace of cross-database macros.
"""

import os


class _Adapter:
    """Resolves ``adapter.dispatch(name)`` to a stand-in that renders a function call."""

    def dispatch(self, macro_name, macro_namespace=None):
        def call(*args, **kwargs):
            # the first argument is a SQL expression; for our primitives the others
            # are patterns or formats, which the real macros render as literals
            rendered = [str(args[0])] if args else []
            for arg in args[1:]:
                if macro_name == "hmac_sha256_hex":
                    rendered.append(str(arg))
                else:
                    rendered.append("'" + str(arg).replace("'", "''") + "'")
            return f"{macro_name}({', '.join(rendered)})"

        return call


class _Exceptions:
    """Mirrors dbt's ``exceptions`` namespace."""

    @staticmethod
    def raise_compiler_error(message):
        raise RuntimeError(message)


class _Dbt:
    """The few cross-database macros of dbt's global project that we call."""

    @staticmethod
    def dateadd(datepart, interval, from_date_or_timestamp):
        return f"({from_date_or_timestamp} + cast({interval} as bigint) * interval 1 {datepart})"


adapter = _Adapter()
exceptions = _Exceptions()
dbt = _Dbt()


def env_var(name, default=None):
    """Mirrors dbt's ``env_var``."""
    return os.environ.get(name, default)
