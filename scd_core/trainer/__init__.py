"""The trainer: one training loop for every model and every data source.

A run (:mod:`.run`) builds the model (:mod:`.initialise`), takes its pairs from a
:class:`~scd_core.trainer.data.TrainingData` (``training/`` gives SECOND's and Landsat-SCD's folders,
:mod:`scd_core.own_data` an analyst's georeferenced rasters and labels), trains them with the plain
loop of :mod:`.loop` on one process or many (:mod:`.distributed`, :mod:`.precision`), and writes the run
folder (:mod:`.run_folder`) that ``scd detect`` reads, resumable exactly (:mod:`.state`, :mod:`.sampling`).
"""
