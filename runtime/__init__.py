"""What runs inside workflow pods and on a laptop. `python -m runtime STEP` (cli.py, __main__.py):

    steps/            train, evaluate, gate, register (and refused), score, drift, quality: the pods' steps
    training_report.py  the training workflow's exit handler: its phase, pushed whatever it is
    propose.py        after register made a new champion: its pin as a branch
    verify.py, fetch.py, versions.py, copy_version.py   the registry calls the compiler makes
    canary/           the canary analysis          drift/    data drift on logged features
    serving/          the model server class        prediction_log/   the request logger's sink
    features/         the feature definitions made Feast objects, training frames, online serving
    data/             datasets by URI, their digests, the example data
    resolved.py       the resolved spec a step runs with    contract.py  what a team's entry point receives
    artifact.py       the model artifact             tracking.py   MLflow access the steps share
    metrics.py        evaluation metrics per task    evidence.py   a registered version's evidence
    environment.py    what a model's bytes depend on  code.py      the team's code and its commit
    device.py         the device a training step runs on, and reproducible CUDA settings

Steps read the resolved spec (the `<model>-spec` ConfigMap, or the file `mlplat run` writes) and talk
to MLflow. The runtime imports nothing of compiler/ and renderers/ but the two contract modules,
compiler/runtime_contract.py (metric names, thresholds, durations, the resolved spec's keys) and
renderers/mlbom.py (the ML-BOM builder the register step and the compiler share); the compiler reaches
the runtime only as a subprocess (compiler/local/runtime_call.py). Heavy libraries are imported
inside the functions that need them.
"""
