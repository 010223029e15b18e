"""The package's version: the one place it is written (pyproject.toml, the CLI and the User-Agent read it)."""

__version__ = "0.1.0"
