"""``scd train PAIRS.csv -o RUN_DIR [--model NAME | --init CKPT] [--epochs N] [--resume] [--progress ...]``.

Teaches a model the analyst's own imagery and labels (:mod:`scd_core.own_data`) with the one trainer
(:mod:`scd_core.trainer`), by the recipe of :mod:`scd_core.own_data.recipe` unless told otherwise.
RUN_DIR is a run folder (config.yaml, log.txt, metrics.jsonl, last.pt, model.pt); its ``model.pt``
runs in ``scd detect`` and the QGIS plugin at once. Every input is checked before RUN_DIR is
created; a RUN_DIR that holds a run is continued with ``--resume`` and never overwritten.

With ``--progress json`` stdout carries events (:mod:`scd_core.events`): ``message`` lines, one
``epoch`` per epoch, and ``trained`` (or ``error``) last. SIGINT exits with 130 and SIGTERM with 143;
the epochs finished stay in RUN_DIR, and ``--resume`` goes on from there.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from scd_core import events, vocabulary
from scd_core.cli.arguments import add_option
from scd_core.cli.detect import EXIT_TERMINATED, Terminated, interrupts_raise, run_reported
from scd_core.errors import InvalidOptionError
from scd_core.geo.progress import HumanText, JsonLines, Reporter


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``scd train`` sub-command's parser."""
    parser = commands.add_parser(
        "train",
        help="train a model on your own georeferenced pairs and labels",
        description="Train a change model on the pairs of PAIRS.csv (columns id, before, after, optional split, "
        "and labels: change, label1+label2, fromto, labels (vector), or labels1+labels2 (vector land cover)). "
        "RUN_DIR/model.pt runs in scd detect.",
    )
    parser.add_argument("pairs", metavar="PAIRS.csv", help="the training pairs and their labels")
    parser.add_argument(
        "-o", "--out-dir", required=True, metavar="RUN_DIR", help="the run folder (--resume: continue it)"
    )
    for option in vocabulary.TRAIN:
        add_option(parser, option)
    return parser


def config_of(args: argparse.Namespace) -> Any:
    """The run's :class:`~scd_core.trainer.config.TrainConfig`: the recipe, the options over it."""
    from scd_core import checkpoint
    from scd_core.own_data.recipe import DEFAULT_MODEL, encoder_choice, recipe
    from scd_core.trainer import config as configs

    if args.init and (args.architecture or args.encoder or args.encoder_weights):
        raise InvalidOptionError(
            "--init fine-tunes its checkpoint's model: leave out --model, --encoder and --encoder-weights"
        )
    pairs = {
        key: getattr(args, key)
        for key in ("classes", "change_field", "from_field", "to_field", "class_field", "unlabelled", "chips")
        if getattr(args, key) is not None
    }
    settings: dict[str, Any] = {"hparams": {}, "encoder_weights": None}
    if args.init:
        _, metadata = checkpoint.read(args.init)
        model = metadata["model"]
    else:
        model = args.architecture or DEFAULT_MODEL
        encoder, weights = encoder_choice(model, args.encoder, args.encoder_weights)
        settings = {"hparams": {"encoder": encoder} if encoder else {}, "encoder_weights": weights}
    values = recipe(
        model=model,
        dataset="pairs",
        data=str(args.pairs),
        out=str(args.out_dir),
        init_from=args.init,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        crop=args.chip_size,
        seed=args.seed,
        device=args.device,
        pairs=pairs,
        **settings,
    )
    return configs.from_dict(values, "scd train")


def run(args: argparse.Namespace) -> int:
    """Run ``scd train``; its exit code."""
    json_events = args.progress == "json"
    report: Reporter = JsonLines() if json_events else HumanText(bar=False, label="scd train")

    def echo(text: str) -> None:
        report(events.message(text))

    def on_epoch(record: dict[str, Any]) -> None:
        report(events.epoch(record["epoch"], config.epochs, record["loss"], record.get("val") or {}))

    def call() -> Path:
        from scd_core.own_data.source import pairs_data
        from scd_core.trainer.run import train

        events_of_epochs = on_epoch if json_events else None  # else the log's line tells each epoch
        return train(config, pairs_data, args.resume, echo, events_of_epochs, bar=args.progress == "bar")

    with interrupts_raise():
        try:
            config = run_reported(report, lambda: config_of(args))
            model = run_reported(report, call).resolve()
        except Terminated:
            print(
                "scd train: terminated; the epochs finished stay in the run folder (--resume goes on)", file=sys.stderr
            )
            return EXIT_TERMINATED
    scores = _last_scores(model.parent)
    if json_events:
        report(events.trained(str(model), str(model.parent), config.epochs, scores))
    else:
        print(model)
    return 0


def _last_scores(run_dir: Path) -> dict[str, Any]:
    import json

    lines = (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    return json.loads(lines[-1]).get("val") or {} if lines else {}
