"""The papers' tables as data: ``training/tables/<id>.yaml``, one file per table.

Each file names the table's base recipe (a config of ``training/configs/``), its metric convention, the
metrics it reports, and its rows. A row is the recipe with a few overrides (``set``: the model and its
hyper-parameters, the epochs of ATL's second stage), the paper's figures beside it (``paper``: one list
per column group, in the order of ``metrics``), and, for ASN-ATL, the row whose trained model it starts
from (``after``). Each row names its run (``run``); a run shared by several tables (ASN with the
residual encoder is in Tables I, V and VI) is trained once. A row trained with several seeds has a run
per seed (:func:`seed_run`), each the recipe with that ``seed``; an ATL row's seed ``s`` starts from its
ASN row's seed ``s``.

Table II is different: it lists the categorical SeK of three of Table I's runs (``from_table``), so its
rows carry 6×6 matrices of paper figures instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from scd_core.errors import InvalidOptionError
from scd_core.trainer import config as configs
from scd_core.trainer.config import TrainConfig

TABLES_DIR = Path(__file__).parent / "tables"
TABLE_IDS = ("1", "2", "3", "4", "5", "6", "lsafnet", "cdsc")


@dataclass(frozen=True)
class Row:
    """One row: its run, its method's name, its overrides of the recipe and the paper's figures."""

    run: str
    method: str
    settings: dict[str, Any]
    paper: dict[str, Any]
    after: str | None = None

    @property
    def encoder(self) -> str | None:
        return self.settings.get("hparams", {}).get("encoder")


@dataclass(frozen=True)
class Table:
    """One table of a paper."""

    id: str
    title: str
    convention: str
    metrics: tuple[str, ...]
    rows: tuple[Row, ...]
    path: Path
    recipe: Path | None = None
    from_table: str | None = None
    classes: tuple[str, ...] = ()


def table_path(table_id: str) -> Path:
    return TABLES_DIR / (f"table_{table_id}.yaml" if table_id.isdigit() else f"{table_id}.yaml")


def load_table(table_id: str) -> Table:
    """The definition of table ``table_id`` (one of :data:`TABLE_IDS`)."""
    if table_id not in TABLE_IDS:
        raise InvalidOptionError(f"--table takes one of {', '.join(TABLE_IDS)}, got {table_id!r}")
    path = table_path(table_id)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rows = tuple(Row(r["run"], r["method"], r.get("set", {}), r.get("paper", {}), r.get("after")) for r in data["rows"])
    recipe = path.parent / data["recipe"] if "recipe" in data else None
    return Table(
        str(data["table"]),
        data["title"],
        data["convention"],
        tuple(data.get("metrics", ())),
        rows,
        path,
        recipe,
        data.get("from_table"),
        tuple(data.get("classes", ())),
    )


def training_rows(table: Table) -> tuple[Table, list[Row]]:
    """The table whose rows define the runs (Table II's are Table I's) and the runs ``table`` needs,
    each after the run it starts from."""
    source = load_table(table.from_table) if table.from_table else table
    by_run = {row.run: row for row in source.rows}
    ordered: list[Row] = []

    def add(run: str) -> None:
        if run not in by_run:
            raise InvalidOptionError(f"{source.path}: no row runs {run!r}")
        row = by_run[run]
        if row.after:
            add(row.after)
        if row not in ordered:
            ordered.append(row)

    for row in table.rows:
        add(row.run)
    return source, ordered


def seed_run(run: str, seed: int) -> str:
    """The run folder of ``run`` trained with ``seed``: seed 0 keeps the row's own name, so that runs
    trained before a table had several seeds count as its seed 0 and are not trained again."""
    return run if seed == 0 else f"{run}-seed{seed}"


def row_config(
    source: Table, row: Row, data: str | Path, runs: Path, smoke: bool = False, seed: int = 0
) -> TrainConfig:
    """The config of ``row``'s run with ``seed``: the recipe, the row's overrides, the seed, the data and
    its run folder."""
    if source.recipe is None:
        raise InvalidOptionError(f"{source.path}: no recipe")
    own = {"data": str(data), "out": str(runs / seed_run(row.run, seed)), "seed": seed}
    settings: dict[str, Any] = configs.merge(row.settings, own)
    if row.after:
        settings["init_from"] = str(runs / seed_run(row.after, seed) / "model.pt")
    config = configs.load(source.recipe, **settings)
    return configs.smoke(config) if smoke else config
