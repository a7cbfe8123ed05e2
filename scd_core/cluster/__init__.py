"""Scale-out on Dask: ``scd batch`` and ``scd detect`` on an embedded LocalCluster or any Dask scheduler.

``--cluster`` names the cluster (:mod:`.connect`): ``local`` or ``local:N`` starts an embedded
LocalCluster of N worker processes on this machine, the cores split between them (one worker per
GPU on a GPU machine); ``tcp://HOST:PORT`` or a scheduler file (``SCHEDULER_FILE.json``) joins a
running ``dask scheduler`` and its ``dask worker`` processes, wherever they run (SLURM or PBS through
dask-jobqueue, Kubernetes through dask-kubernetes).

Two ways to use it:

* **many pairs** (:mod:`.pairs`): one task per pair, each written atomically into ``OUT_ROOT/<id>``
  as ``scd batch`` does in one process; the model is loaded once per worker process;
* **one huge pair** (:mod:`.blocks`): the map grid is cut into blocks; workers compute each with
  the tiles of the whole run's plan that cover it, so the stitched mosaic is the one-process output
  pixel for pixel; the sieve and the polygons are then made once over the stitched maps.

Workers read the inputs and write the outputs by their paths, so every worker must see the same
files at the same paths (a shared filesystem: NFS, Lustre, a mounted bucket).
"""
