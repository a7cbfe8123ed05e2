"""QGIS plugin "Semantic change detection (scd)": a Processing provider that runs the scd engine out of process.

QGIS's own Python never imports torch or the engine: the plugin starts the engine as a worker process
in a separate Python environment (the backend) and reads its JSON-lines progress.
"""


def classFactory(iface):
    """Called by QGIS (and qgis_process, with ``iface`` None) to create the plugin."""
    from .plugin import ScdPlugin

    return ScdPlugin(iface)
