"""Georeferenced detection: rasters in, from-to change maps and polygons out.

``rasters`` opens and validates inputs and reads aligned, masked windows; ``grid`` holds the pure pixel
geometry (output grid, tiles, panels, blending weights); ``normalise`` turns raw pixel values into
model inputs; ``engine`` runs the tiled, blended, strip-by-strip loop; ``outputs`` writes GeoTIFFs and
reports atomically; ``vectorize`` turns the change map into polygons with geodesic areas; ``progress``
defines the events and the JSON-lines worker protocol.
"""
