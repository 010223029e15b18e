"""Placeholder: this command group is being written."""


def register(subparsers) -> None:
    pass
