"""Training scd's models on SECOND-layout data; the result is a checkpoint that ``scd detect`` runs.

config ─► dataset (SECOND layout) ─► augment ─► model + loss ─► checkpoint ─► evaluate (both conventions)
"""
