"""`python -m churn.train`: the program the train step runs for churn-predictor.

It is handed everything through the environment (runtime/steps/train.py): the data URIs, the target,
the hyperparameters as JSON, the tracking run to log to (MLFLOW_RUN_ID) and the folder to write the
model directory to (MLPLAT_MODEL_DIR).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sklearn.ensemble import HistGradientBoostingClassifier

from runtime import artifact, data


def main() -> None:
    hp = json.loads(os.environ["MLPLAT_HYPERPARAMETERS"])
    target = os.environ["MLPLAT_TARGET"]
    frame = data.load(os.environ["MLPLAT_TRAIN_URI"], target)
    features = data.feature_columns(frame, target)
    model = HistGradientBoostingClassifier(max_depth=int(hp.get("max_depth", 6)),
                                           learning_rate=float(hp.get("learning_rate", 0.1)),
                                           max_iter=int(hp.get("max_iter", 200)), random_state=int(hp.get("seed", 0)))
    model.fit(frame[features], frame[target])
    import mlflow

    with mlflow.start_run(run_id=os.environ["MLFLOW_RUN_ID"]):  # resumes the step's run
        mlflow.log_metric("train_iterations", float(model.n_iter_))
    artifact.save(model, Path(os.environ["MLPLAT_MODEL_DIR"]), framework="sklearn", task="binary-classification",
                  features=features)


if __name__ == "__main__":
    main()
