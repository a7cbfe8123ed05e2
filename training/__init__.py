"""Training scd's models and reproducing the papers' tables; run from a checkout (``python -m training.…``).

config (config.py) ─► splits and pairs (datasets.py) ─► augmentation (transforms.py), data order (sampling.py)
  ─► model, init_from (initialise.py) ─► loop (loop.py; precision.py, distributed.py) ─► run folder
  (run_folder.py, state.py): model.pt, which ``scd detect`` runs
model.pt ─► test-time augmentation (tta.py) ─► scores, predictions (evaluate.py)
tables (tables.py, tables/) ─► runs in dependency order, scores in three groups ─► table_<id>.md/.json
  (reproduce.py, table_report.py)
data tools: from-to labels to per-date ones (convert.py, codes/), normalisation statistics (stats.py)
"""
