"""Reading a contract file safely: its size, its place, and a YAML loader without bombs.

Contracts come from departments. A contract file is refused before it is read whole when it
is larger than :data:`MAX_CONTRACT_BYTES`; its YAML is parsed by :class:`ContractLoader`, a
safe loader that refuses more than :data:`MAX_ALIASES` aliases (a "billion laughs" bomb
expands a few lines into gigabytes) and keeps dates and timestamps as the strings written
(ODCS fields such as ``contractCreatedTs`` are strings; YAML would read ``2022-10-03`` as a
date, which the ODCS schema refuses).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from orchestration.contracts.errors import ContractError

MAX_CONTRACT_BYTES = 1024 * 1024
MAX_ALIASES = 20
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class ContractLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing more than :data:`MAX_ALIASES` aliases and reading
    timestamps as strings."""

    # Every implicit resolver but the timestamp one: ``2022-10-03`` stays a string.
    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream: str):
        super().__init__(stream)
        self.aliases = 0

    def compose_node(self, parent, index):
        """Counts aliases as they are composed, before any is expanded."""
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise yaml.YAMLError(
                    f"more than {MAX_ALIASES} aliases (*name): refused as a possible YAML bomb"
                )
        return super().compose_node(parent, index)


def parse_yaml(path: Path, text: str) -> Any:
    """The YAML document in ``text``; raises :class:`ContractError` naming ``path``."""
    loader = ContractLoader(text)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        message = " ".join(str(exc).split())
        raise ContractError(path, "(file)", f"not valid YAML: {message}") from exc
    finally:
        loader.dispose()


def read_contract_text(path: Path) -> str:
    """The text of a contract file, refused when larger than 1 MiB (checked before reading)."""
    try:
        size = os.stat(path).st_size
        if size > MAX_CONTRACT_BYTES:
            raise ContractError(
                path, "(file)", f"is {size} bytes; a contract may be at most {MAX_CONTRACT_BYTES}"
            )
        with open(path, "rb") as handle:
            data = handle.read(MAX_CONTRACT_BYTES + 1)
        if len(data) > MAX_CONTRACT_BYTES:
            raise ContractError(path, "(file)", f"grew past {MAX_CONTRACT_BYTES} bytes while read")
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ContractError(path, "(file)", f"cannot be read: {exc}") from exc


def check_contract_location(path: Path, contracts_dir: Path) -> Path:
    """Returns ``path`` when it is ``<contracts_dir>/<department>/<dataset>.yaml``.

    Raises:
        ContractError: The path holds ``..``, is or passes through a symlink, or lies outside
            ``contracts_dir`` (one line, naming the path).
    """
    path = Path(path)
    if ".." in path.parts:
        raise ContractError(path, "(file)", "a contract path may not hold '..'")
    base = Path(os.path.abspath(contracts_dir))
    absolute = Path(os.path.abspath(path))
    if absolute.parent.parent != base or absolute.suffix != ".yaml":
        raise ContractError(
            path, "(file)", f"a contract must be {contracts_dir}/<department>/<dataset>.yaml"
        )
    if absolute.is_symlink() or absolute.parent.is_symlink():
        raise ContractError(path, "(file)", "a contract may not be a symlink")
    if absolute.resolve().parent.parent != base.resolve():
        raise ContractError(path, "(file)", f"resolves outside {contracts_dir}")
    return path
