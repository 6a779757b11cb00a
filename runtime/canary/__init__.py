"""The canary analysis: evidence from Prometheus (evidence.py), the decision rule (decide.py), the step
that runs both and proposes the result through git (step.py, proposal.py)."""
