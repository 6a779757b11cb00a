"""The compile pipeline, the only path `mlplat validate` and `mlplat compile` take:

    load      loader.py            YAML with a position for every node; YAML's traps refused
    validate  validation.py        Pydantic errors as located SpecError values (errors.py), all of them at once
              project.py           every input file found, loaded and validated: a Project
              features.py          every team's features.yaml loaded, and checked together
    resolve   resolve.py           spec <- overlay <- platform defaults, per (model, environment)
    policy    rules.py             rules within one resolved spec
              policy.py            checks across specs, environments, pins and the platform
              entrypoints.py       a spec's training code checked statically (its module and function)
              deployed_features.py feature changes that would break a pinned version
              check.py             check_project: the stages above in order; validate stops here
    plan      plan.py              every renderer run, every file as exact bytes (plan_files.py)
    write     write.py             environments/ replaced atomically (tree_swap.py); `--check` compares
              progress.py          one line of progress on a terminal

incremental/ holds what makes a compile redo only what changed (the spec and render caches, the plan
memo). Imports compiler.spec and the renderers (plan.py only), never reports, gitops, local or cli;
check.py and what it imports never load the renderers, so `mlplat validate` stays fast.
"""
