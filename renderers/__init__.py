"""Renderers: pure functions from the resolved spec (compiler/spec/) to manifests, one module per target.

registry.py lists them by scope, in the order the compiler renders them; base.py is what they return.

    model in an environment  resolved_spec.py (its ConfigMap), argo.py (training pipeline), seldon.py
                             (serving), monitoring.py and training_alerts.py (PrometheusRules), drift.py
                             and quality.py (monitoring jobs), canary.py (analysis), scoring.py (batch
                             scoring), sbom.py (the pinned versions' ML-BOMs)
    environment and team     argocd.py (Applications), dashboards.py (Grafana), scraping.py (PodMonitors),
                             prediction_log.py (the log sink), features.py (Feast files, with
                             materialize.py's CronWorkflows)
    model, all environments  model_card.py        repository  codeowners.py

What they share: workflow_pod.py (every workflow pod's settings, mounts, security and RBAC),
argo_objects.py (Argo objects as plain data), monitor_job.py (the drift and quality CronWorkflow),
markdown.py (untrusted text in Markdown), mlbom.py (CycloneDX ML-BOMs, the one module the runtime imports;
it imports nothing of mlplat, so this package stays free of imports for it).

Renderers import only compiler.spec and the contract module (compiler/runtime_contract.py), never the
pipeline, GitOps, local or CLI code, and never the runtime.
"""
