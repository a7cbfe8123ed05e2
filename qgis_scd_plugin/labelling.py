"""The points of an accuracy sample made ready for an interpreter, who labels each one's ``ref_class``
against reference imagery (Olofsson et al. 2014's response design).

* ``ref_class`` is a drop-down of the sample's strata, the classes ``scd assess`` estimates areas for:
  each is a reference it accepts, and a stratum, not a finer change type, is what the estimates are
  made of. Empty stays possible ("not labelled yet"), since a point is labelled once seen, not before.
* Every other field is read-only in the form: the design (stratum, map class, coordinates) is what the
  estimates are weighted by, and an edit there would bias them without a word.
* Points to label stand out; labelled ones recede. Neither look shows the map's class: an interpreter
  who sees it agrees with the map too often, which inflates the accuracy (labels blind to the map).

This is saved as the GeoPackage's default style (its ``layer_styles`` table), so the points open
ready for labelling wherever the file goes; the layer loaded on the map reads it from there.
"""

from __future__ import annotations

from qgis.core import (
    QgsEditorWidgetSetup,
    QgsMarkerSymbol,
    QgsProcessingException,
    QgsRuleBasedRenderer,
    QgsValueMapFieldFormatter,
    QgsVectorLayer,
)

from .shared import vocabulary
from .styling import save_default_style

#: The field the interpreter fills: ``scd sample`` writes it empty, ``scd assess`` reads it by default.
REFERENCE_FIELD = vocabulary.OPTIONS["ref_field"].default
UNLABELLED = "(not labelled yet)"
#: The looks' legend entries, filters and markers: a large yellow disc to find, a small grey one done.
LOOKS = (
    (
        "to label",
        f'"{REFERENCE_FIELD}" IS NULL OR trim("{REFERENCE_FIELD}") = \'\'',
        {"name": "circle", "color": "255,215,0,255", "outline_color": "0,0,0,255", "outline_width": "0.4", "size": "4"},
    ),
    (
        "labelled",
        "ELSE",
        {"name": "circle", "color": "170,170,170,255", "outline_color": "255,255,255,255", "size": "2.2"},
    ),
)
_STYLE_NAME = "scd sample to label"


def prepare_for_labelling(points: QgsVectorLayer, classes: list[str]) -> None:
    """Give ``points`` the drop-down of ``classes`` on its reference field, read-only design fields and
    the labelling looks (see the module docstring), and save that as its default style."""
    fields = points.fields()
    reference = fields.indexOf(REFERENCE_FIELD)
    if reference < 0:
        raise QgsProcessingException(f"{points.source()} has no {REFERENCE_FIELD} field to label.")
    choices = [{UNLABELLED: QgsValueMapFieldFormatter.NULL_VALUE}, *({name: name} for name in classes)]
    points.setEditorWidgetSetup(reference, QgsEditorWidgetSetup("ValueMap", {"map": choices}))
    form = points.editFormConfig()
    for index in range(fields.count()):
        form.setReadOnly(index, index != reference)
    points.setEditFormConfig(form)
    root = QgsRuleBasedRenderer.Rule(None)
    for label, expression, marker in LOOKS:
        symbol = QgsMarkerSymbol.createSimple(marker)
        root.appendChild(QgsRuleBasedRenderer.Rule(symbol, filterExp=expression, label=label))
    points.setRenderer(QgsRuleBasedRenderer(root))
    save_default_style(points, _STYLE_NAME, "Accuracy sample points, ready for labelling (scd)")
