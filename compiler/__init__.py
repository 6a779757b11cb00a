"""The mlplat compiler: model specs in, the rendered GitOps tree out. Each folder is one room:

    spec/      the spec language: the documents people write or commit (model.yaml, platform.yaml,
               releases.yaml, version evidence) as Pydantic models, their value types, the names
               derived from them, the resolved model renderers read, and deterministic YAML/JSON
    pipeline/  load -> validate -> policy -> resolve -> plan -> write: the only path `mlplat validate`
               and `mlplat compile` take; its incremental/ part keeps the caches that make it fast
    reports/   what is read off a checked project or its plan: costs, `mlplat list`, the spec reference
    local/     this machine: calling the runtime (`python -m runtime ...`) as a subprocess; run a
               model's workflow, serve a version, drift on two files, a version's ML-BOM
    gitops/    git and the registry: inputs at a base commit, the plan diff, the gate on changed pins,
               promote, rollback and the canary's commits
    catalog/   `mlplat catalog`: the static site of every model, team and environment
    cli/       the argparse wiring and one module per command; __main__.py runs it (`python -m compiler`)

runtime_contract.py is no room: it holds what the compiler renders and the runtime reads (metric names,
thresholds, durations, the resolved spec's keys), imports nothing of mlplat, and every room and the
runtime may import it. The renderers (../renderers/) sit between spec and pipeline. One dependency
direction, enforced by tests/test_architecture.py (a module imports only from its own room or the rooms
before it):

    spec <- renderers <- pipeline <- reports <- local <- gitops <- catalog <- cli

gitops comes after local because the gate, promote and rollback reach the registry through the
runtime (local/runtime_call.py). Nothing here imports the runtime (../runtime/), and the heavy
libraries (GitPython, Hera, cyclonedx, Jinja2; torch, MLflow, Evidently live in the runtime only)
are imported inside the functions that need them, so `mlplat validate` never loads them.
"""
