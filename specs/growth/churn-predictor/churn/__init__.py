"""Training code of churn-predictor: a program the train step runs (training.command)."""
