#!/usr/bin/env bash
# A real screenshot of QGIS showing the plugin's styled result, for the README.
#
#   scripts/screenshot_qgis.sh [OUT.png] [MODEL.pt]      # default resources/screenshot_qgis.png
#
# It installs the plugin zip into a throw-away QGIS profile, makes a synthetic georeferenced image pair
# with the engine, runs "Detect semantic changes" through qgis_process (the plugin, out of process, as
# an analyst's run), then starts the QGIS desktop under Xvfb with the after image and the change
# polygons as Processing styled them, and captures the whole screen with ImageMagick's `import`.
# MODEL defaults to the bundled demo model (resources/models/demo.pt), else a tiny untrained one; the
# backend is SCD_PYTHON, else the repository's .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out=$(realpath -m "${1:-resources/screenshot_qgis.png}")
model=${2:-}
display=:${SCD_SCREENSHOT_DISPLAY:-97}

sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
if ! command -v import >/dev/null || ! command -v Xvfb >/dev/null; then
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq imagemagick xvfb
fi
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

# The data: a synthetic pair and a model, made by the backend (QGIS's Python never imports torch).
(cd "$work" && "$python" -m scd_core synth geo pair --size 512 --seed 11 --crs EPSG:32631 >/dev/null)
if [ -z "$model" ] && [ -f resources/models/demo.pt ]; then model=$repo/resources/models/demo.pt; fi
threshold=()
if [ -z "$model" ]; then
    # An untrained model's change probabilities all sit near one value, which varies from one random
    # initialisation to the next; a threshold just above their 70th percentile makes it call part of the
    # area changed. That shows the styling, not what a trained model finds.
    echo "screenshot_qgis.sh: no demo model yet; using a tiny untrained one" >&2
    model=$work/tiny.pt
    (cd "$work" && "$python" -c 'import sys; from scd_core import checkpoint; from scd_core.models import build; checkpoint.save(build("fc_ef", width=8), sys.argv[1])' "$model")
    (cd "$work" && "$python" -m scd_core detect pair/before.tif pair/after.tif -o probe --model "$model" --progress none 2>/dev/null)
    threshold=("THRESHOLD=$(cd "$work" && "$python" -c '
import numpy as np, rasterio
with rasterio.open("probe/change_prob.tif") as data:
    values = data.read(1)
scale, step = (255.0, 0.5) if values.dtype == np.uint8 else (1.0, 1e-4)
print(round((float(np.percentile(values, 70)) + step) / scale, 4))')")
fi

# The detection, through the plugin in qgis_process (Debian's qgis_process wrapper passes an option
# qgis_process 3.22 rejects, QGIS issue #57683; the .bin beside it is the program itself).
qgis_process=$(command -v qgis_process)
[ -x "$qgis_process.bin" ] && qgis_process=$qgis_process.bin
QGIS_CUSTOM_CONFIG_PATH=$work QT_QPA_PLATFORM=offscreen SCD_PYTHON=$python "$qgis_process" run scd:detectchanges -- \
    BEFORE="$work/pair/before.tif" AFTER="$work/pair/after.tif" MODEL="$model" "${threshold[@]}" OUTPUT="$work/changes.gpkg" >"$work/run.log" 2>&1 \
    || { cat "$work/run.log" >&2; exit 1; }

# What QGIS does once started: show the after image under the change polygons, legend expanded, and
# the Processing toolbox filtered to the plugin's provider; then say it is ready.
cat >"$work/show.py" <<EOF
from qgis.core import QgsProject, QgsRasterLayer, QgsVectorLayer
from qgis.PyQt.QtCore import QTimer
from qgis.PyQt.QtWidgets import QApplication, QDockWidget
from qgis.utils import iface

window = iface.mainWindow()
window.setGeometry(QApplication.primaryScreen().availableGeometry())
window.findChild(QDockWidget, "Browser").hide()

after = QgsRasterLayer("$work/pair/after.tif", "after")
changes = QgsVectorLayer("$work/changes.gpkg|layername=changes", "Changes before → after", "ogr")
QgsProject.instance().addMapLayers([changes, after])  # the first is drawn on top
QgsProject.instance().layerTreeRoot().findLayer(after.id()).setExpanded(False)
iface.setActiveLayer(changes)
iface.mapCanvas().setExtent(changes.extent().buffered(20))
toolbox = window.findChild(QDockWidget, "ProcessingToolbox")
if toolbox is not None:
    toolbox.setVisible(True)
    toolbox.searchBox.setText("semantic")


def ready():
    open("$work/ready", "w").close()


iface.mapCanvas().mapCanvasRefreshed.connect(lambda: QTimer.singleShot(3000, ready))
iface.mapCanvas().refresh()
EOF

Xvfb "$display" -screen 0 1440x900x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
pids+=($!)
sleep 1
env -u QT_QPA_PLATFORM DISPLAY="$display" SCD_PYTHON="$python" \
    qgis --profiles-path "$work" --nologo --noversioncheck --code "$work/show.py" >"$work/qgis.log" 2>&1 &
pids+=($!)
for _ in $(seq 120); do [ -f "$work/ready" ] && break; sleep 1; done
[ -f "$work/ready" ] || { echo "screenshot_qgis.sh: QGIS did not draw the map within 2 minutes" >&2; tail -20 "$work/qgis.log" >&2; exit 1; }
import -display "$display" -window root "$out"
echo "$out"
