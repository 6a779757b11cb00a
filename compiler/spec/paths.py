"""Where things are in a repository mlplat manages, relative to its root: one name for each path the
compiler, the renderers and the local commands share."""

PLATFORM_FILE = "platform/platform.yaml"
SPECS_DIR = "specs"  # specs/<team>/<model>/model.yaml, specs/<team>/features.yaml
SPEC_NAME = "model.yaml"
FEATURES_NAME = "features.yaml"
OUTPUT_DIR = "environments"  # the rendered tree: environments/<env>/...
RELEASES_FILE = "releases.yaml"  # environments/<env>/releases.yaml: the pins
EVIDENCE_DIR = "evidence"  # environments/<env>/evidence/<model>-vN.json
SBOM_DIR = "sbom"  # environments/<env>/sbom/: the pinned versions' ML-BOMs
WORK_DIR = ".mlplat"  # this checkout's own state, gitignored: the embedded default, caches, scratch
CACHE_ROOT = f"{WORK_DIR}/cache"
BASE_DIR = f"{WORK_DIR}/base"  # a base commit's inputs, written to be planned or gated
COMMIT_SCRATCH = f"{WORK_DIR}/commit"  # the temporary index of a commit made beside the work tree
