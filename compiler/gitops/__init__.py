"""GitOps operations: what a pull request changes, and the commits that change what runs.

    gitbase.py   the compiler's inputs as they were at a git commit (GitPython, no checkout)
    plandiff.py  `mlplat plan --base`: two plans compared, resource by resource, in ML terms
    gate.py      `mlplat gate`: every changed release pin checked in the registry
    pins.py      what promote and rollback share: registry facts, releases.yaml, the commit
    commit_tree.py  that commit, made beside the work tree (a temporary index, one ref update)
    promote.py   `mlplat promote`: pin a version on a new branch
    registry_copy.py  a version copied from the previous environment's registry into the next one's
    rollback.py  `mlplat rollback`: pin the previous version again

Uses the pipeline (to compile each side) and local/runtime_call.py (the registry lives behind the
runtime); only cli imports this.
"""
