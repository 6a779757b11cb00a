"""The canary analysis: Prometheus' answers, checked before they are believed, within one deadline
(prometheus_query.py), both sides' measurements from them (measurements.py), the decision rule
(decide.py), the step that runs them and proposes the result through git (step.py, proposal.py)."""
