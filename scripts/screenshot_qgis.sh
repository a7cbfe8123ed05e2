#!/usr/bin/env bash
# A real screenshot of QGIS with the plugin, for the README: the "Detect semantic changes" dialog over a
# styled result, whose legend reads from → to.
#
#   scripts/screenshot_qgis.sh [OUT.png] [MODEL.pt]      # default resources/screenshot_qgis.png
#
# It installs the plugin zip into a throw-away QGIS profile, makes a synthetic georeferenced image pair
# with the engine, runs "Detect semantic changes" through qgis_process (the plugin, out of process, as
# an analyst's run; with no MODEL, the demo model bundled in the zip), then starts the QGIS desktop under
# Xvfb with the after image and the change polygons as the plugin styled them, the legend filtered to
# the change types on the map, and the algorithm's dialog open; QGIS grabs its own screen. The backend
# is SCD_PYTHON, else the repository's .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out=$(realpath -m "${1:-resources/screenshot_qgis.png}")
model=${2:-}
display=:${SCD_SCREENSHOT_DISPLAY:-97}

make --no-print-directory setup setup-qgis plugin >/dev/null
python=${SCD_PYTHON:-$repo/.venv/bin/python}

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# A QGIS profile with the plugin installed from its zip and enabled, and no first-run dialogs.
profile=$work/profiles/default
mkdir -p "$profile/python/plugins" "$profile/QGIS"
unzip -q dist/qgis_scd_plugin.zip -d "$profile/python/plugins"
cat >"$profile/QGIS/QGIS3.ini" <<EOF
[PythonPlugins]
qgis_scd_plugin=true
[qgis]
checkVersion=false
showTips=false
showTips322=false
EOF

# The data: a synthetic pair made by the backend (QGIS's Python never imports torch).
(cd "$work" && "$python" -m scd_core synth geo pair --size 512 --seed 11 --crs EPSG:32631 >/dev/null)

# The detection, through the plugin in qgis_process (Debian's qgis_process wrapper passes an option
# qgis_process 3.22 rejects, QGIS issue #57683; the .bin beside it is the program itself).
qgis_process=$(command -v qgis_process)
[ -x "$qgis_process.bin" ] && qgis_process=$qgis_process.bin
model_argument=()
[ -n "$model" ] && model_argument=("MODEL=$(realpath "$model")")
QGIS_CUSTOM_CONFIG_PATH=$work QT_QPA_PLATFORM=offscreen SCD_PYTHON=$python "$qgis_process" run scd:detectchanges -- \
    BEFORE="$work/pair/before.tif" AFTER="$work/pair/after.tif" "${model_argument[@]}" OUTPUT="$work/changes.gpkg" \
    >"$work/run.log" 2>&1 || { cat "$work/run.log" >&2; exit 1; }

# What QGIS does once started: the after image under the change polygons, a wide legend filtered to
# what is on the map, the algorithm's dialog beside the map; once the map is drawn, grab the screen.
cat >"$work/show.py" <<EOF
import os

import processing
from qgis.core import QgsProject, QgsRasterLayer, QgsRectangle, QgsVectorLayer
from qgis.PyQt.QtCore import Qt, QTimer
from qgis.PyQt.QtWidgets import QApplication, QDockWidget
from qgis.utils import iface

window = iface.mainWindow()
screen = QApplication.primaryScreen().availableGeometry()
window.setGeometry(screen)
for name in ("Browser", "ProcessingToolbox"):
    dock = window.findChild(QDockWidget, name)
    if dock is not None:
        dock.hide()
layers_panel = window.findChild(QDockWidget, "Layers")
window.resizeDocks([layers_panel], [560], Qt.Horizontal)

before = QgsRasterLayer("$work/pair/before.tif", "ortho 2019")
after = QgsRasterLayer("$work/pair/after.tif", "ortho 2021")
changes = QgsVectorLayer("$work/changes.gpkg", "Changes ortho 2019 → ortho 2021", "ogr")
QgsProject.instance().addMapLayers([changes, after, before])  # the first is drawn on top
root = QgsProject.instance().layerTreeRoot()
for image in (before, after):
    root.findLayer(image.id()).setExpanded(False)
root.findLayer(before.id()).setItemVisibilityChecked(False)
iface.setActiveLayer(changes)
canvas = iface.mapCanvas()

dialog = processing.createAlgorithmDialog(
    "scd:detectchanges", {"BEFORE": before.id(), "AFTER": after.id(), "OUTPUT": "$work/changes_2.gpkg"}
)
dialog.resize(620, screen.height() - 160)
dialog.move(screen.right() - 630, screen.top() + 80)
dialog.show()


def frame_image_left_of_the_dialog():
    """Fit the image into the part of the map the dialog leaves visible."""
    image = after.extent()
    left = canvas.mapToGlobal(canvas.rect().topLeft())
    visible_width = dialog.frameGeometry().left() - left.x() - 40
    units_per_pixel = max(image.width() / visible_width, image.height() / (canvas.height() - 40))
    xmin = image.xMinimum() - 20 * units_per_pixel
    ymid = image.center().y()
    half_height = canvas.height() * units_per_pixel / 2
    canvas.setExtent(QgsRectangle(xmin, ymid - half_height, xmin + canvas.width() * units_per_pixel, ymid + half_height))
    canvas.mapCanvasRefreshed.connect(lambda: QTimer.singleShot(3000, capture))
    canvas.refresh()


def capture():
    if os.path.exists("$work/ready"):
        return
    iface.layerTreeView().layerTreeModel().setLegendFilterByMap(canvas.mapSettings())
    QApplication.processEvents()
    QApplication.primaryScreen().grabWindow(0).save("$out", "PNG", 0)  # 0: the smallest file
    open("$work/ready", "w").close()


QTimer.singleShot(1000, frame_image_left_of_the_dialog)
EOF

Xvfb "$display" -screen 0 1920x1080x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
pids+=($!)
sleep 1
env -u QT_QPA_PLATFORM DISPLAY="$display" SCD_PYTHON="$python" \
    qgis --profiles-path "$work" --nologo --noversioncheck --code "$work/show.py" >"$work/qgis.log" 2>&1 &
pids+=($!)
for _ in $(seq 120); do [ -f "$work/ready" ] && break; sleep 1; done
[ -f "$work/ready" ] || { echo "screenshot_qgis.sh: QGIS did not draw the map within 2 minutes" >&2; tail -20 "$work/qgis.log" >&2; exit 1; }
echo "$out"
