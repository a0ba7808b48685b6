"""Runs over many inputs: on a Dask cluster or in this process, resumable, with a summary.

:mod:`.inputs` finds the inputs (files, folders, globs, list files), :mod:`.engine` runs one
task per input (the same function locally and on workers, models loaded once per worker),
:mod:`.summary` writes one row per input (Parquet or JSON lines). The tasks themselves are
those of ``poselift estimate`` (:func:`poselift.estimate_output.estimate_task`) and
``poselift lift`` (:func:`poselift.lift_output.lift_task`).
"""
