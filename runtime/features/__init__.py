"""The data platform's runtime: the rendered feature definitions made Feast objects and used.

    definitions.py  Feast objects from the rendered definitions, and a FeatureStore from the settings
    step.py         `python -m runtime features apply|materialize|serve`
    training.py     the frame a model on a feature service trains or is evaluated on
    retrieval.py    point-in-time training frames through Feast's historical retrieval

Feast's Python API throughout; feast is imported inside the functions that need it.
"""
