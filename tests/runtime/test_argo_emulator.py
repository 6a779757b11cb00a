"""The Argo emulator (tests/runtime/argo_emulator.py) on Argo's own examples, where it decides what runs and
the Workflow's phase: the tests that hold the rendered pipelines to Argo's semantics are only as good as it.

Each workflow is transcribed from argoproj/argo-workflows (v3.7), with its containers' commands replaced by
`sh -c` equivalents this machine runs (argosay and busybox are images): examples/dag-continue-on-fail.yaml,
test/e2e/functional/dag-depends.yaml (TestDAGDepends), the workflow of TestContinueOnFailDag in
test/e2e/functional_test.go, and docs/walk-through/exit-handlers.md. Where upstream states the outcome (the
e2e tests' assertions, the example's `expected-failure` label), so does the test; the phases upstream
leaves unstated are those of workflow/controller/dag.go's assessDAGPhase.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.runtime.argo_emulator import ArgoEmulator

PASS = {"name": "pass", "container": {"image": "argoproj/argosay:v2", "command": ["sh", "-c"], "args": ["true"]}}
FAIL = {"name": "fail", "container": {"image": "argoproj/argosay:v2", "command": ["sh", "-c"], "args": ["exit 1"]}}


def workflow(tasks: list[dict[str, Any]], *templates: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"kind": "Workflow", "spec": {"entrypoint": "main", "templates": [
        {"name": "main", "dag": {"tasks": tasks}}, PASS, FAIL, *templates], **spec}}


def run(body: dict[str, Any], tmp_path: Path) -> tuple[dict[str, str], ArgoEmulator]:
    emulator = ArgoEmulator(body, {}, tmp_path)
    pods = emulator.run()
    return {name: pod.phase for name, pod in pods.items()}, emulator


def test_dag_depends(tmp_path: Path) -> None:
    """test/e2e/functional/dag-depends.yaml: a bare name after a failure omits, `.Failed` runs."""
    phases, emulator = run(workflow([
        {"name": "P", "template": "pass"},
        {"name": "F", "template": "fail"},
        {"name": "should-execute-1", "depends": "P && (F.Succeeded || F.Failed)", "template": "pass"},
        {"name": "should-execute-2", "depends": "P || F", "template": "pass"},
        {"name": "should-not-execute", "depends": "P && F", "template": "pass"},
        {"name": "should-execute-3", "depends": "should-execute-2.Succeeded || should-not-execute",
         "template": "pass"},
    ]), tmp_path)
    assert phases == {"P": "Succeeded", "F": "Failed", "should-execute-1": "Succeeded",
                      "should-execute-2": "Succeeded", "should-not-execute": "Omitted",
                      "should-execute-3": "Succeeded"}
    assert emulator.phase == "Succeeded"  # its targets (should-execute-1 and -3) succeeded


def test_dag_continue_on_fail_example(tmp_path: Path) -> None:
    """examples/dag-continue-on-fail.yaml (labelled expected-failure upstream): D handles B's failure, but G
    is omitted after E's, and G is a target on a failed branch."""
    phases, emulator = run(workflow([
        {"name": "A", "template": "pass"},
        {"name": "B", "depends": "A", "template": "fail"},
        {"name": "C", "depends": "A", "template": "pass"},
        {"name": "D", "depends": "B.Failed && C", "template": "pass"},
        {"name": "E", "depends": "A", "template": "fail"},
        {"name": "F", "depends": "A", "template": "pass"},
        {"name": "G", "depends": "E && F", "template": "pass"},
    ]), tmp_path)
    assert phases == {"A": "Succeeded", "B": "Failed", "C": "Succeeded", "D": "Succeeded", "E": "Failed",
                      "F": "Succeeded", "G": "Omitted"}
    assert emulator.phase == "Failed"


def test_an_omitted_task_satisfies_no_bare_dependency(tmp_path: Path) -> None:
    """`depends: B` is (B.Succeeded || B.Skipped || B.Daemoned): after an omitted B, C is omitted too,
    and the failure at the root of the branch fails the Workflow."""
    phases, emulator = run(workflow([
        {"name": "A", "template": "fail"},
        {"name": "B", "depends": "A", "template": "pass"},
        {"name": "C", "depends": "B", "template": "pass"},
    ]), tmp_path)
    assert phases == {"A": "Failed", "B": "Omitted", "C": "Omitted"} and emulator.phase == "Failed"


def test_a_skipped_task_satisfies_a_bare_dependency(tmp_path: Path) -> None:
    phases, emulator = run(workflow([
        {"name": "A", "template": "pass"},
        {"name": "B", "depends": "A", "template": "fail", "when": "yes == no"},
        {"name": "C", "depends": "B", "template": "pass"},
    ]), tmp_path)
    assert phases == {"A": "Succeeded", "B": "Skipped", "C": "Succeeded"} and emulator.phase == "Succeeded"


def test_continue_on_failed_dag(tmp_path: Path) -> None:
    """TestContinueOnFailDag: `dependencies` on a task that continues on failure runs after it fails, and the
    Workflow succeeds (fixtures.ToBeSucceeded)."""
    phases, emulator = run(workflow([
        {"name": "F", "template": "fail", "continueOn": {"failed": True}},
        {"name": "P", "template": "pass", "dependencies": ["F"]},
    ]), tmp_path)
    assert phases == {"F": "Failed", "P": "Succeeded"} and emulator.phase == "Succeeded"


def test_a_failed_target_fails_the_workflow_and_the_exit_handler_sees_it(tmp_path: Path) -> None:
    """docs/walk-through/exit-handlers.md: the exit handler runs whatever happened, with {{workflow.status}}."""
    handler = {"name": "exit-handler", "container": {"image": "alpine:3.23", "command": ["sh", "-c"],
                                                     "args": ["echo {{workflow.name}} {{workflow.status}}"]}}
    phases, emulator = run(workflow([{"name": "intentional-fail", "template": "fail"}], handler,
                                    onExit="exit-handler"), tmp_path)
    assert phases == {"intentional-fail": "Failed"} and emulator.phase == "Failed"
    assert emulator.exit_handler.phase == "Succeeded" and emulator.exit_handler.log.strip() == "emulated Failed"
