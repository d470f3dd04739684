"""``python -m orchestration.cli``: the same as the ``commonground`` command."""

from orchestration.cli import main

main()
