"""The catalog: `mlplat catalog`'s static site of every model, team and environment.

    data.py      what the catalog shows, as plain data: models, owners, serving, cost, metrics against
                 gates, lineage, drift and quality results, adoption
    adoption.py  adoption from git history: deployments, who made them, registration to production
    site.py      the static site: path -> bytes, a pure function of data.py's data and the linked files
    svg.py       the site's charts and lineage as inline SVG

Imports the rooms before it (the plan, costs from compiler/reports, git from compiler/gitops); only the
CLI imports it.
"""
