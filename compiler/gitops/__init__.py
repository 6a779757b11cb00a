"""GitOps operations: what a pull request changes, and the commits that change what runs.

    gitbase.py        the compiler's inputs as they were at a git commit (GitPython, no checkout)
    plandiff.py       `mlplat plan --base`: two plans compared, resource by resource, in ML terms
    plan_cost.py      the plan's monthly cost change, per environment and workload
    feature_diff.py   the plan's account of a change to an environment's feature definitions
    change_detail.py  one thing a plan changes in a resource, as data, and the one place it is worded
    gate.py           `mlplat gate`: every changed release pin checked in the registry
    approvals.py      recorded approvals on a pin held against the pull request's approving reviews
    pins.py           what promote, rollback and the canary share: registry facts, releases.yaml, the commit
    commit_tree.py    that commit, made beside the work tree (a temporary index, one ref update)
    promote.py        `mlplat promote`: pin a version on a new branch
    registry_copy.py  a version copied from the previous environment's registry into the next one's
    rollback.py       `mlplat rollback`: pin the previous version again
    canary.py         a canary decision applied to releases.yaml as one commit on a new branch

Uses the pipeline (to compile each side), the reports (costs) and local/runtime_call.py (the registry
lives behind the runtime); the catalog and cli import this.
"""
