"""This machine: the runtime started as a subprocess, on the embedded default or a given MLflow.

    runtime_call.py    the compiler's only way into the runtime (`python -m runtime ...`, never imported)
    embedded.py        the embedded default under .mlplat/: MLflow on SQLite, a local artifact folder
    run.py             `mlplat run`: a model's training workflow, step by step, as the pods run it
    serve.py           `mlplat serve`: a registered version behind the real seldon-core-microservice
    serving_stack.py   what `mlplat serve` runs: the model server behind an executor, with a log sink
    executor.py        `python -m compiler.local.executor`: the part of Seldon's executor a laptop needs
    feature_server.py  Feast's feature server beside `mlplat serve`, for a model on a feature service
    drift.py           `mlplat drift`: the drift step on two files
    quality.py         `mlplat quality`: the quality step on files
    sbom.py            `mlplat sbom`: a registered version's ML-BOM, its artifact checked
    new_model.py       `mlplat new`: a model folder from a template (templates/)
    leftovers.py       scratch folders a killed mlplat process left behind, removed by a later run

Imports compiler.spec, the renderers (serving settings, the ML-BOM builder), the pipeline and the
reports; gitops, the catalog and cli import this.
"""
