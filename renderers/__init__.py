"""Renderers: pure functions from the resolved spec (compiler/spec/) to manifests, one module per target.

`renderers.registry` lists them in the order the compiler renders them. Renderers import only the
spec types and the resolved model (compiler.spec), never the pipeline, GitOps, local or CLI code,
and never the runtime. `renderers.mlbom` is the one module the runtime imports (the register step
builds a version's ML-BOM with it); it imports nothing of mlplat, so this package stays free of
imports for it.
"""
