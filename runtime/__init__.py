"""What runs inside workflow pods and on a laptop: the train, evaluate, gate, register (and refused) and
drift steps, the training workflow's exit handler (training_report.py), the registry calls the compiler
makes (verify, fetch, copy_version), the canary analysis and the model server class; metric_names.py
names the series the servers expose and the jobs read back.

Steps read the resolved spec (the `<model>-spec` ConfigMap, or the file `mlplat run` writes) and talk
to MLflow. The runtime imports nothing of compiler/ and, of renderers/, only the contract module
renderers.mlbom (the ML-BOM builder the register step and the compiler share); the compiler reaches
the runtime only as a subprocess (compiler/local/runtime_call.py). Heavy libraries are imported
inside the functions that need them.
"""
