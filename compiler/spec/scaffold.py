"""The templates `mlplat new` offers (their files: compiler/local/templates/; the writing:
compiler/local/new_model.py)."""

# template -> what it is (the CLI's help); each is a folder of compiler/scaffold/templates/
TEMPLATES = {
    "pytorch-classifier": "a PyTorch binary classifier (entrypoint: fit(TrainingInput) -> torch module)",
    "sklearn-regression": "a scikit-learn regressor (entrypoint: fit(TrainingInput) -> estimator)",
    "command": "your own training program and image (training.command)",
    "batch-scoring": "a scikit-learn regressor that scores a table on a schedule (spec.scoring; mlplat score)",
}
