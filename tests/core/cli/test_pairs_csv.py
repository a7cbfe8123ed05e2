"""PAIRS.csv as spreadsheets write it: capitalised column names, ``;`` or tab separators; what is
still wrong is said exactly (the header as read, a row without a path)."""

from __future__ import annotations

import pytest

from scd_core.batch.pairs import read_pairs
from scd_core.errors import PairsFileError


@pytest.mark.parametrize(
    "content",
    [
        "ID;Before;After;AOI\nx;a.tif;b.tif;\ny;c.tif;d.tif;area.gpkg\n",
        "Id,BEFORE,After,Aoi\nx,a.tif,b.tif,\ny,c.tif,d.tif,area.gpkg\n",
        "id\tbefore\tafter\taoi\nx\ta.tif\tb.tif\t\ny\tc.tif\td.tif\tarea.gpkg\n",
    ],
)
def test_capitalised_columns_and_spreadsheet_separators_are_read(tmp_path, content):
    pairs_file = tmp_path / "pairs.csv"
    pairs_file.write_text(content)
    pairs = read_pairs(pairs_file)
    assert [p.id for p in pairs] == ["x", "y"]
    assert (
        pairs[0].before == str(tmp_path / "a.tif")
        and pairs[0].after == str(tmp_path / "b.tif")
        and pairs[0].aoi is None
    )
    assert pairs[1].aoi == tmp_path / "area.gpkg"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("name;before;after\nx;a.tif;b.tif\n", "missing id (its header, split at ';': name, before, after)"),
        ("id before after\nx a b\n", "missing id, before, after (its header, split at ',': id before after)"),
        ("id;before;after\nx;a.tif\n", "line 2: pair 'x' needs a before and an after path"),
    ],
)
def test_what_is_still_wrong_is_said(tmp_path, content, problem):
    pairs_file = tmp_path / "pairs.csv"
    pairs_file.write_text(content)
    with pytest.raises(PairsFileError) as refusal:
        read_pairs(pairs_file)
    assert problem in str(refusal.value)
