"""The compile pipeline, the only path `mlplat validate` and `mlplat compile` take:

    load      loader.py      YAML with a position for every node; YAML's traps refused
    validate  validation.py  Pydantic errors as located SpecErrors (errors.py), all of them at once
              project.py     every input file found, loaded and validated: a Project
    resolve   resolve.py     spec <- overlay <- platform defaults, per (model, environment)
    policy    rules.py       rules within one resolved spec
              policy.py      checks across specs, environments, pins and the platform
              check.py       check_project: the stages above in order; validate stops here
    plan      plan.py        every renderer run, every file as exact bytes
    write     write.py       environments/ replaced atomically; `--check` compares instead

Imports compiler.spec and the renderers (plan.py only), never gitops, local or cli; check.py and what it
imports never load the renderers, so `mlplat validate` stays fast.
"""
