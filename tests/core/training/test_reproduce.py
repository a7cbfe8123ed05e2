"""``python -m training.reproduce --table 1 --smoke``: nine rows trained in dependency order, scored in
the three column groups, written beside the paper's figures; a re-run trains nothing."""

from __future__ import annotations

import json

from training.tables import TABLE_IDS, load_table, training_rows

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
        assert set(row["scores"]) == {"plain", "ms", "ms_flip"} and row["scores"] == row["from_to"]
        assert set(row["scores"]["ms"]) == {"mIoU", "SeK", "Fscd", "OA"} and set(row["per_date"]) == set(row["scores"])
        assert set(row["paper"]) == {"plain", "ms", "ms_flip"} and (tmp_path / "reproduced" / row["config"]).is_file()
    assert table["rows"][-1]["paper"]["ms_flip"] == {"mIoU": 70.0, "SeK": 16.8}
    markdown = (out / "table_1.md").read_text(encoding="utf-8").splitlines()
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
