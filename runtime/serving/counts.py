"""The prediction counters a model server sums between two hand-overs to Seldon, as Seldon's custom
metrics (counters; Prometheus exposes each as <name>_total). Their names are the contract's
(compiler/runtime_contract.py): the rendered rules and the canary analysis read them."""

from __future__ import annotations

from typing import Any

from compiler.runtime_contract import (
    FEATURE_ERRORS,
    FEATURE_REQUESTS,
    PREDICTED_CLASS,
    PREDICTION_SCORE_BUCKET,
    PREDICTION_SCORE_SUM,
    PREDICTION_SQUARE_SUM,
    PREDICTION_SUM,
    PREDICTIONS,
    REQUEST_FAILURES,
)

SCORE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


class Counts:
    """Prediction counters summed between two hand-overs to Seldon."""

    def __init__(self) -> None:
        self.predictions = 0
        self.score_sum = 0.0
        self.buckets = [0] * len(SCORE_BUCKETS)
        self.classes: dict[int, int] = {}
        self.value_sum = 0.0
        self.square_sum = 0.0
        self.output = ""
        self.feature_requests = 0  # requests whose features were read online
        self.feature_errors: dict[str, int] = {}  # of them, refused, by reason
        self.failures: dict[str, int] = {}  # refused requests, by reason

    def any(self) -> bool:
        return bool(self.predictions or self.feature_requests or self.feature_errors or self.failures)

    def add(self, scores: Any, output: str) -> None:
        import numpy as np

        values = np.asarray(scores, dtype=np.float64)
        self.output = output
        if output == "class-probabilities":
            predicted = values.reshape(len(values), -1).argmax(axis=1)
            self.predictions += len(predicted)
            for label, count in zip(*np.unique(predicted, return_counts=True), strict=True):
                self.classes[int(label)] = self.classes.get(int(label), 0) + int(count)
            return
        flat = values.reshape(-1)
        self.predictions += len(flat)
        if output == "probability":
            self.score_sum += float(flat.sum())
            for index, bound in enumerate(SCORE_BUCKETS):
                self.buckets[index] += int((flat <= bound).sum())
        else:
            self.value_sum += float(flat.sum())
            self.square_sum += float(np.square(flat).sum())

    def metrics(self) -> list[dict[str, Any]]:
        # Fresh tag dicts each time: Seldon adds a "method" tag to the dicts it is given.
        out = [_counter(FEATURE_REQUESTS, self.feature_requests)] if self.feature_requests else []
        out += [_counter(FEATURE_ERRORS, count, reason=reason)
                for reason, count in sorted(self.feature_errors.items())]
        out += [_counter(REQUEST_FAILURES, count, reason=reason) for reason, count in sorted(self.failures.items())]
        if not self.predictions:
            return out
        out.append(_counter(PREDICTIONS, self.predictions))
        if self.output == "probability":
            out.append(_counter(PREDICTION_SCORE_SUM, self.score_sum))
            out += [_counter(PREDICTION_SCORE_BUCKET, count, le=str(bound))
                    for bound, count in zip(SCORE_BUCKETS, self.buckets, strict=True)]
        elif self.output == "class-probabilities":
            out += [_counter(PREDICTED_CLASS, count, **{"class": str(label)})
                    for label, count in sorted(self.classes.items())]
        else:
            out += [_counter(PREDICTION_SUM, self.value_sum),
                    _counter(PREDICTION_SQUARE_SUM, self.square_sum)]
        return out


def _counter(key: str, value: float, **tags: str) -> dict[str, Any]:
    return {"type": "COUNTER", "key": key, "value": value, "tags": tags}
