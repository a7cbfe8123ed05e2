"""Georeferenced detection: two rasters of one place in, from-to change maps and polygons out.

:func:`scd_core.detect` is :func:`.pipeline.detect`, five stages in the order of the flow; each
stage's work lives in the modules beside it:

=============  =============================================================  =====================
stage          what happens                                                   modules
=============  =============================================================  =====================
options        every option's default and rule, the CLI flags made from them  :mod:`.options`
prepare        the output folder checked; both rasters opened and checked,    :mod:`.inputs`,
               the AOI read, the output grid fixed (BEFORE's, clipped), each  :mod:`.staging`,
               date's mask opened and measured; the checkpoint loaded, bands  :mod:`.rasters`,
               chosen, AFTER (and a mask) resampled onto the grid where       :mod:`.aoi`,
               needed, pixels normalised, tiles planned                       :mod:`.grid`,
                                                                              :mod:`.masks`,
                                                                              :mod:`.sampling`
infer          the tiled loop (read, batch, model, blend, finish strips) and  :mod:`.engine`,
               the working GeoTIFFs it writes                                 :mod:`.blending`,
                                                                              :mod:`.maps`
vectorise      one polygon per region of one change type, geodesic areas,     :mod:`.vectorize`
               mean probabilities, the GeoPackage
report         the final COGs, summary.csv, preview.png, run.json             :mod:`.maps`,
                                                                              :mod:`.reports`
commit         the staging folder's files moved into OUT_DIR together         :mod:`.staging`
=============  =============================================================  =====================

Pixels are normalised by :mod:`scd_core.normalise`, outside ``geo``: training normalises its
images with it too. :mod:`.progress` defines the events every stage reports and the JSON-lines
worker protocol the QGIS plugin reads. The pure pixel geometry (:mod:`.grid`) imports neither torch nor GDAL; the
prepare stage's checks run before torch is imported.
"""
