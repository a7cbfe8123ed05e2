"""scd's version: the one source that pyproject.toml reads and metadata.txt is checked against."""

__version__ = "0.1.0"
