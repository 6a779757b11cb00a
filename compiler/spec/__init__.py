"""The spec language: what people write and commit, as typed documents, and what the renderers read.

    types.py       constrained value types (names, quantities, durations, cron, images, URIs, handles)
    model.py       model.yaml (Model) with its per-environment overlay
    features.py    specs/<team>/features.yaml (Features): entities, sources, feature views and services
    platform.py    platform/platform.yaml (Platform): environments, clusters, teams, defaults
    releases.py    environments/<env>/releases.yaml (Releases): the pinned versions
    evidence.py    environments/<env>/evidence/<model>-vN.json (VersionEvidence): the registry's record
    names.py       the Kubernetes names derived from a model name, and their limits
    paths.py       where things are in the repository: the platform file, specs/, environments/, .mlplat/
    resolved.py    ResolvedModel and ResolvedEnvironment: one model in one environment, defaults applied
    schedules.py   how often a cron schedule fires (the run count behind a monthly cost)
    emit.py        deterministic YAML and JSON: how every document and manifest is written
    block_yaml.py  block YAML for plain data, written directly: libyaml's bytes at a fraction of the cost
    data_uris.py   the data URI schemes and bundled datasets training data may name
    scaffold.py    the templates `mlplat new` offers

The bottom of the dependency direction: this package imports nothing else of mlplat but the contract
module (compiler/runtime_contract.py), and only Pydantic, PyYAML and the standard library. Reading
files, locating errors and checking across documents are the pipeline's job (compiler/pipeline/).
"""
