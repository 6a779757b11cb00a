"""What lets a compile redo only what changed: the caches and the memo, in the checkout's git directory.

    store.py         where the caches live (the checkout's git directory), when they are used, and the
                     one form of their entries
    file_hashes.py   each input's and each written file's SHA-256, read again only where its stat changed
    fingerprint.py   the render cache's keys: a hash of everything a unit's files depend on
    spec_cache.py    loaded YAML and evidence documents by the hash of their bytes (load_project)
    render_cache.py  each render unit's files by key, their bytes read back from the tree written
    plan_memo.py     a clean compile's plan by the digest of its inputs, each team's part apart
    project_plan.py  plan_project: the plan from the memo, else the last plan with the changed teams
                     checked and planned alone, else checked and built in full; then remembered

Part of the pipeline room: it imports the stages (plan.py builds through render_cache.py) and they import
it; the stages never need it to be right, only to be fast (a miss renders again).
"""
