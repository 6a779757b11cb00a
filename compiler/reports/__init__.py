"""Reports read off a checked project or its plan; none of them is rendered into environments/.

    cost.py       what each model costs a month, from its rendered objects and the platform's prices
    inventory.py  the rows of `mlplat list` and the summary of `mlplat describe`
    reference.py  the README's spec reference, generated from the spec language (`mlplat schema`)

Imports compiler.spec and the pipeline; gitops (the plan's cost diff), the catalog and the CLI import it.
"""
