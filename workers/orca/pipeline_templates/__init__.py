"""Spinnaker's managed pipeline templates (v2) in Orca: a ``templatedPipeline`` config rendered at start.

:mod:`.render` is the pure renderer (variables, stage overrides, inheritance, expressions over
``templateVariables``); :mod:`.start` fetches the template from Front50 for ``orca.StartExecution``
and for ``orca.PlanTemplatedPipeline`` (Gate's ``POST /v2/pipelineTemplates/plan``).
"""
