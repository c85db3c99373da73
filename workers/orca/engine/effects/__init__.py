"""The I/O of Orca's own stage types: webhook calls, child pipelines, and recording their answers.

:mod:`workers.orca.engine.stages` declares what each stage type does (tasks that are pure
functions of the stored execution); the modules here carry out the calls those tasks ask for,
claim each attempt before making it and record its answer (:mod:`~.answers`), wired onto the bus
by :mod:`~.stage_io`. They import the stage types; the stage types never import them.
"""
