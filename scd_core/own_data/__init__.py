"""An analyst's own imagery and labels as training data: ``scd train PAIRS.csv``.

PAIRS.csv lists georeferenced pairs and their labels (:mod:`.table`); each pair is read through the
engine's own stages (:mod:`.imagery`), its labels in any of five forms land on BEFORE's grid
(:mod:`.labels`) under one class table (:mod:`.classes`), and random chips of the labelled pixels
train the model while a spatially separate part validates it (:mod:`.chips`). :mod:`.source` puts
it together as the trainer's :class:`~scd_core.trainer.data.TrainingData`.
"""
