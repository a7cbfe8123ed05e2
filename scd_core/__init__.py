"""scd: semantic change detection for aerial and satellite imagery."""
__version__ = "0.1.0"
