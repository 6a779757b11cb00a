"""The workflow steps, one `python -m runtime STEP` each (runtime/cli.py dispatches):

    train.py     fit the model with tracking set up; log the model directory and its digest
    evaluate.py  score the run's model on the eval split; log the metrics
    gate.py      judge the run against the spec's gates and the champion; fail closed
    register.py  the model version with its lineage; the alias the gate decided
    refused.py   the training workflow's last task when the gate refused the run
    score.py     a pinned version scores a dataset in batch
    drift.py     the current window against the reference: report, push, decide
    quality.py   live quality, from ground truth joined to logged predictions
"""
