"""What runs inside workflow pods and on a laptop: the train, evaluate, gate and register steps.

Steps read the resolved spec (the `<model>-spec` ConfigMap, or the file `mlplat run` writes) and talk
to MLflow. Nothing here imports the compiler; heavy libraries are imported inside the functions.
"""
