"""``python -m training.reproduce --table 1 --smoke``: nine rows trained in dependency order, scored in
the three column groups, written beside the paper's figures; a re-run trains nothing. With ``--seeds K``
each row is trained K times and each cell is mean ± sd, its difference from the paper shown only beyond
twice the sd."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from training.reproduce import plan
from training.table_report import BEYOND, UNKNOWN, WITHIN, cell, cell_text, table_data, table_markdown, verdict
from training.tables import TABLE_IDS, load_table, training_rows

REPORTED = ("mIoU", "SeK", "Fscd", "OA")
METHODS = ["FC-EF", "FC-conc", "FC-diff", "HRSCD.str1", "HRSCD.str2", "HRSCD.str3", "HRSCD.str4", "ASN", "ASN-ATL"]


def test_every_table_definition_loads_with_the_papers_figures_for_its_metrics():
    for table_id in TABLE_IDS:
        table = load_table(table_id)
        source, rows = training_rows(table)
        assert rows and all(r.run in {s.run for s in source.rows} for r in rows)
        for row in table.rows:
            for group, figures in row.paper.items():
                assert group in ("plain", "ms", "ms_flip")
                if table_id != "2":
                    assert len(figures) == len(table.metrics)
    assert [r.method for r in load_table("1").rows] == METHODS
    assert [r.run for r in training_rows(load_table("2"))[1]] == [
        "hrscd_str1-residual", "hrscd_str4-residual", "asn-residual", "asn_atl-residual",
    ]  # fmt: skip


def test_table_1_smoke_writes_nine_rows_in_three_groups_beside_the_paper_and_resumes(
    small_second, run_module, tmp_path
):
    out = tmp_path / "reproduced"
    done = run_module(
        "training.reproduce", "--table", "1", "--smoke", "--data", small_second, "--out", out, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == [str(out / f"table_{t}.{e}") for t in ("1", "2") for e in ("md", "json")]
    assert "asn_atl-residual: training ASN-ATL (from asn-residual)" in done.stderr

    table = json.loads((out / "table_1.json").read_text(encoding="utf-8"))
    assert table["table"] == "1" and table["convention"] == "from_to"
    assert [row["method"] for row in table["rows"]] == METHODS
    for row in table["rows"]:
        assert row["seeds"] == [0] and set(row["scores"]) == {"plain", "ms", "ms_flip"}
        assert set(row["scores"]["ms"]) == {"mIoU", "SeK", "Fscd", "OA"} and set(row["per_date"]) == set(row["scores"])
        assert all(row["scores"][g][m]["values"] == row["from_to"][g][m] for g in row["scores"] for m in REPORTED)
        assert row["scores"]["ms"]["SeK"]["sd"] is None and row["scores"]["ms"]["SeK"]["verdict"] == UNKNOWN
        assert set(row["paper"]) == {"plain", "ms", "ms_flip"} and (out / row["configs"][0]).is_file()
    assert table["rows"][-1]["paper"]["ms_flip"] == {"mIoU": 70.0, "SeK": 16.8}
    markdown = (out / "table_1.md").read_text(encoding="utf-8").splitlines()
    assert "one seed (seed 0): the noise is unknown" in markdown[2] and "±" not in "".join(markdown)
    header = next(line for line in markdown if line.startswith("| method"))
    assert header.count("plain") == 2 and header.count("ms_flip") == 2 and header.count("ms ") == 2
    body = [line for line in markdown if line.startswith("| ") and not line.startswith("| method")]
    assert len(body) == 9 and "· 70.0 ·" in body[-1]  # ASN-ATL's MS+flip mIoU beside ours

    second = json.loads((out / "table_2.json").read_text(encoding="utf-8"))
    assert [row["method"] for row in second["rows"]] == ["HRSCD.str1", "HRSCD.str4", "ASN-ATL"]
    assert len(second["rows"][0]["scores"]["ms_flip"]["matrix"]) == 6

    again = run_module("training.reproduce", "--table", "1", "--smoke", "--data", small_second, "--out", out)
    assert again.returncode == 0 and again.stderr.count("finished, not trained again") == 9
    assert json.loads((out / "table_1.json").read_text(encoding="utf-8")) == table


def test_plan_writes_each_rows_config_and_prints_the_commands_in_order(small_second, run_module, tmp_path):
    done = run_module("training.reproduce", "--table", "5", "--data", small_second, "--out", tmp_path, "--plan")
    assert done.returncode == 0, done.stderr
    commands = done.stdout.splitlines()
    assert commands == [
        f"python -m training.train {tmp_path / 'runs' / run / 'config.yaml'} --resume"
        for run in ("asn-residual-wo_af", "asn-residual")
    ]


def test_a_difference_is_shown_only_beyond_twice_the_seeds_sd():
    beyond = cell([16.0, 16.4, 16.2], 15.2)  # mean 16.2, sd 0.2: +1.0 is five sd
    assert beyond["mean"] == pytest.approx(16.2) and beyond["sd"] == pytest.approx(0.2)
    assert beyond["difference"] == pytest.approx(1.0) and beyond["verdict"] == BEYOND
    assert cell_text(beyond) == "16.2 ± 0.2 · 15.2 · +1.0"
    within = cell([16.0, 17.0], 16.2)  # mean 16.5, sd 0.71: +0.3 is less than half an sd
    assert within["verdict"] == WITHIN and within["difference"] == pytest.approx(0.3)
    assert cell_text(within) == "16.5 ± 0.7 · 16.2 · within noise"
    assert verdict(-2.0, 1.0) == WITHIN and verdict(-2.01, 1.0) == BEYOND  # "exceeds twice the sd"
    assert verdict(0.1, 0.0) == BEYOND and verdict(None, 1.0) is None


def test_one_seed_shows_the_difference_with_its_noise_unknown_and_missing_figures_a_dash():
    one = cell([16.0], 15.2)
    assert one["sd"] is None and one["verdict"] == UNKNOWN and cell_text(one) == "16.0 · 15.2 · +0.8"
    assert cell_text(cell([None, 4.0], 3.0)) == "4.0 · 3.0 · +1.0"  # one seed with a figure
    assert cell_text(cell([1.0, 2.0], None)) == "1.5 ± 0.7 · –" and cell([1.0, 2.0], None)["verdict"] is None
    assert cell_text(cell([None, None], 3.0)) == "– · 3.0" and cell_text(cell([], None)) == "–"


def test_table_rows_carry_every_seeds_scores_and_their_cells():
    table = load_table("1")
    asn = next(row for row in table.rows if row.method == "ASN")  # paper plain: mIoU 69.0, SeK 15.2

    def result(miou: float, sek: float) -> dict:
        figures = {"mIoU": miou, "SeK": sek, "Fscd": 50.0, "OA": 80.0}
        return {"per_date": {**figures, "SeK": sek + 1}, "from_to": figures, "pairs": 3}

    results = {asn.run: {0: {"plain": result(70.0, 15.0)}, 1: {"plain": result(70.2, 15.6)}}}
    configs = {asn.run: {0: "runs/asn-residual/config.yaml", 1: "runs/asn-residual-seed1/config.yaml"}}
    data = table_data(table, results, configs)
    row = next(r for r in data["rows"] if r["run"] == asn.run)
    assert row["seeds"] == [0, 1] and row["configs"] == list(configs[asn.run].values())
    assert row["from_to"]["plain"]["SeK"] == [15.0, 15.6] and row["per_date"]["plain"]["SeK"] == [16.0, 16.6]
    miou, sek = row["scores"]["plain"]["mIoU"], row["scores"]["plain"]["SeK"]
    assert miou["values"] == [70.0, 70.2] and miou["verdict"] == BEYOND  # +1.1 against 2 × 0.14
    assert sek["mean"] == pytest.approx(15.3) and sek["verdict"] == WITHIN  # +0.1 against 2 × 0.42
    assert json.loads(json.dumps(data)) == data
    line = next(x for x in table_markdown(table, data, "note").splitlines() if x.startswith("| ASN |"))
    assert line == "| ASN | residual | 70.1 ± 0.1 · 69.0 · +1.1 | 15.3 ± 0.4 · 15.2 · within noise | – | – | – | – |"


def test_plan_with_seeds_gives_each_seed_its_runs_and_atl_its_own_seeds_asn(small_second, tmp_path):
    commands = plan("1", small_second, tmp_path, seeds=2)
    runs = tmp_path / "runs"
    assert (
        len(commands) == 18
        and commands[9] == f"python -m training.train {runs / 'fc_ef-residual-seed1' / 'config.yaml'} --resume"
    )
    atl = yaml.safe_load((runs / "asn_atl-residual-seed1" / "config.yaml").read_text(encoding="utf-8"))
    assert atl["seed"] == 1 and atl["init_from"] == str(runs / "asn-residual-seed1" / "model.pt")
    first = yaml.safe_load((runs / "asn_atl-residual" / "config.yaml").read_text(encoding="utf-8"))
    assert first["seed"] == 0 and first["init_from"] == str(runs / "asn-residual" / "model.pt")


def test_more_seeds_train_only_the_new_runs_and_write_mean_and_sd_cells(small_second, run_module, tmp_path):
    out = tmp_path / "reproduced"
    common = ("training.reproduce", "--table", "1", "--smoke", "--rows", "fc_ef-residual", "--data", small_second)
    once = run_module(*common, "--out", out)
    assert once.returncode == 0, once.stderr[-3000:]
    assert "±" not in (out / "table_1.md").read_text(encoding="utf-8")
    twice = run_module(*common, "--out", out, "--seeds", "2")
    assert twice.returncode == 0, twice.stderr[-3000:]
    assert "fc_ef-residual: finished, not trained again" in twice.stderr
    assert "fc_ef-residual-seed1: training FC-EF" in twice.stderr

    markdown = (out / "table_1.md").read_text(encoding="utf-8").splitlines()
    assert f"3 pairs of the val split ({small_second / 'val'})" in markdown[2] and "are not public" in markdown[2]
    assert "mean ± sd over seeds 0-1" in markdown[2]
    cells = markdown[-1].split(" | ")[2:]
    assert len(cells) == 6
    assert all(
        re.fullmatch(r"-?\d+\.\d ± \d+\.\d · \d+\.\d · (within noise|[+-]\d+\.\d)", c.strip(" |")) for c in cells
    )
    row = json.loads((out / "table_1.json").read_text(encoding="utf-8"))["rows"][0]
    assert row["seeds"] == [0, 1] and row["configs"][1] == "runs/fc_ef-residual-seed1/config.yaml"
    assert yaml.safe_load((out / row["configs"][1]).read_text(encoding="utf-8"))["seed"] == 1
    for group in ("plain", "ms", "ms_flip"):
        sek = row["scores"][group]["SeK"]
        assert sek["values"] == row["from_to"][group]["SeK"] and len(sek["values"]) == 2
        assert sek["verdict"] == (BEYOND if abs(sek["difference"]) > 2 * sek["sd"] else WITHIN)
