"""``scd batch --cluster``: one Dask task per pair, as ``scd batch`` runs them in one process.

Each task runs :func:`scd_core.batch.runs.run_pair` on a worker: the pair is skipped when it was
done before with the same request, else written atomically into ``OUT_ROOT/<id>``; the worker's
model cache loads the model once per worker process. A task first removes the staging folder a
killed attempt of its pair left behind, so a pair whose worker died is rerun cleanly elsewhere (the
scheduler reruns it up to ``--retries`` times). The client shows one progress bar over all pairs, or
emits ``pair`` events with ``--progress json``.

Cancelling (Ctrl-C, SIGTERM on the client) sets a Dask event that every running task checks at
each progress event (:mod:`.cancel`): they stop, their staging folders are removed, and pending
tasks are cancelled, so OUT_ROOT holds finished pairs only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from scd_core.batch.pairs import Pair
from scd_core.batch.runs import Outcome, run_pair, sweep_staging
from scd_core.cluster.cancel import Cancelled, cancel_name, cancel_watch, stop
from scd_core.geo.options import DetectOptions

if TYPE_CHECKING:
    from distributed import Client


def pair_task(pair: Pair, out_root: Path, model: str, options: DetectOptions, cancel: str) -> Outcome:
    """One pair on a worker (what :func:`run_pairs` submits).

    A cancelled pair returns: :class:`Cancelled` escaping a task would kill its worker, as any
    KeyboardInterrupt does, and the scheduler would rerun the pair on the next worker."""
    sweep_staging(out_root, [pair.id])  # an attempt of this pair on a worker that died
    try:
        return run_pair(pair, out_root, model, options, cancel_watch(cancel))
    except Cancelled:  # its staging folder is removed; the client, which cancelled, ignores this outcome
        return Outcome(pair.id, "failed", message="cancelled")


def _failed(pair: Pair, error: BaseException) -> Outcome:
    from distributed import KilledWorker

    if isinstance(error, KilledWorker):
        return Outcome(pair.id, "failed", message="its worker died on every attempt (see --retries)")
    return Outcome(pair.id, "failed", message=f"internal error: {type(error).__name__}: {error}")


def run_pairs(
    client: Client,
    pairs: list[Pair],
    out_root: Path,
    model: str,
    options: DetectOptions,
    on_outcome: Callable[[Outcome], None],
) -> list[Outcome]:
    """Run every pair on ``client``'s cluster; ``on_outcome`` hears of each pair as it ends.

    Returns the outcomes in the order of ``pairs``. On KeyboardInterrupt (Ctrl-C, or SIGTERM turned
    into one), running tasks are stopped and cleaned up, pending ones cancelled, and it re-raises.
    """
    from distributed import as_completed

    cancel = cancel_name()
    futures = {
        client.submit(pair_task, pair, out_root, str(model), options, cancel, key=f"scd-pair-{pair.id}-{cancel}"): pair
        for pair in pairs
    }
    outcomes: dict[str, Outcome] = {}
    try:
        for future in as_completed(futures):
            pair = futures[future]
            error = future.exception()
            outcome = _failed(pair, error) if error is not None else future.result()
            outcomes[pair.id] = outcome
            on_outcome(outcome)
    except KeyboardInterrupt:
        stop(client, list(futures), cancel)
        sweep_staging(out_root, [pair.id for pair in pairs])
        raise
    return [outcomes[pair.id] for pair in pairs]
