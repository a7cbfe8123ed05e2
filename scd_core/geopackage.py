"""The one GeoPackage version scd writes, for the changes of ``scd detect``, the samples of ``scd sample``
and the zones of ``scd zones`` alike.

GDAL 3.7+ writes 1.4 by default, which the GDAL of QGIS 3.22 (3.4 to 3.6) does not know: it warns
"This version of GeoPackage ... may only be partially supported" on every open. 1.2 is what GDAL 2.3
to 3.6 write and every GDAL since 2.2 reads; the layers use nothing newer.
"""

from __future__ import annotations

GEOPACKAGE_VERSION = "1.2"
#: pyogrio's ``dataset_options`` for a new GeoPackage (geopandas' ``to_file`` passes them on).
GEOPACKAGE_OPTIONS = {"VERSION": GEOPACKAGE_VERSION}
