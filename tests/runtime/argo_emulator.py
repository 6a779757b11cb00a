"""Run a rendered WorkflowTemplate's (or CronWorkflow's) DAG on this machine the way Argo would run its pods.

For each task, in DAG order: the template's container `command` + `args`, its `env` (a secretKeyRef
from `secrets`) and `workingDir`, its volume mounts (a configMap volume is materialised from the
rendered ConfigMap, an emptyDir is a fresh folder), and its git input artifacts (cloned at the
templated revision, as Argo's init container does). Argo's `{{workflow.parameters.*}}`, `{{inputs.parameters.*}}` and
`{{tasks.*.outputs.parameters.*}}` are substituted; output parameters are read from their
`valueFrom.path` after the pod ends; `depends` and `when` expressions decide what runs. A resource
template (`action: create`) creates nothing: its manifest, substituted, is kept in `created`.

What runs, and the Workflow's phase, follow Argo's controller (workflow/controller/dag.go and
workflow/common/ancestry.go, v3.7): a task whose `when` is false is Skipped; one whose `depends`
(or `dependencies`) is not met is Omitted; a bare task name in `depends` means
`(task.Succeeded || task.Skipped || task.Daemoned)`, so an Omitted task satisfies no bare
dependency; `dependencies` adds `.Failed` or `.Errored` for a dependency with `continueOn`. The DAG,
and so the Workflow, fails when a target task (one no other task depends on) failed, or when it was
Skipped or Omitted on a branch whose last completed task failed (Argo's assessDAGPhase: a skipped or
omitted task inherits its parents' phase, a failure first), unless that task continues on failure.
The `onExit` template then runs with `{{workflow.status}}`; its own outcome does not change the phase.

A pod's file system is a folder: every path the template mounts is placed under that folder, and the
same paths in the container's command, args, env and workingDir are rewritten to match. The
environment is the container's and nothing else, except PATH (to find the image's `python`: here the
test environment's, which has mlplat installed as the runtime image does) and `overrides` (the
cluster services the test stands in for, such as MLFLOW_TRACKING_URI). Not emulated: the security
context, resource limits and retries.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_TEMPLATE = re.compile(r"\{\{\s*([a-zA-Z0-9_.-]+)\s*\}\}")
_TASK = re.compile(r"(?<![A-Za-z0-9.-])([A-Za-z0-9][A-Za-z0-9-]*)")  # a task name in a depends expression


@dataclass
class Pod:
    task: str
    phase: str  # Succeeded, Failed, Skipped (`when` false) or Omitted (`depends` not met)
    exit_code: int | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    log: str = ""


COMPLETED = ("Succeeded", "Failed", "Error")


class ArgoEmulator:
    def __init__(self, template: dict[str, Any], config_maps: dict[str, dict[str, str]], work: Path, *,
                 overrides: dict[str, str] | None = None, secrets: dict[str, dict[str, str]] | None = None,
                 timeout: float = 600):
        assert template["kind"] in ("WorkflowTemplate", "CronWorkflow", "Workflow"), template["kind"]
        self.spec = template["spec"]["workflowSpec"] if template["kind"] == "CronWorkflow" else template["spec"]
        self.created: list[dict[str, Any]] = []
        self.templates = {t["name"]: t for t in self.spec["templates"]}
        self.volumes = {v["name"]: v for v in self.spec.get("volumes", [])}
        self.config_maps = config_maps
        self.work = work
        self.overrides = overrides or {}
        self.secrets = secrets or {}
        self.timeout = timeout
        self.phase: str | None = None  # the Workflow's, once run() has returned
        self.exit_handler: Pod | None = None  # the onExit template's pod, where the spec has one
        self._globals: dict[str, str] = {}  # {{workflow.name}}, and {{workflow.status}} in the exit handler
        self._task_templates: dict[str, str] = {}  # task -> its template, for the outputs of tasks that never ran

    def run(self, parameters: dict[str, str] | None = None) -> dict[str, Pod]:
        workflow = {p["name"]: p.get("value") for p in self.spec.get("arguments", {}).get("parameters", [])}
        unknown = set(parameters or {}) - set(workflow)
        assert not unknown, f"the template has no parameters {unknown}"
        workflow.update(parameters or {})
        self._globals = {"workflow.name": "emulated"}
        dag = self.templates[self.spec["entrypoint"]]["dag"]["tasks"]
        tasks = {t["name"]: t for t in dag}
        self._task_templates = {t["name"]: t["template"] for t in dag}
        pods: dict[str, Pod] = {}
        while len(pods) < len(dag):
            ready = [t for t in dag if t["name"] not in pods and _needs(t) <= set(pods)]
            assert ready, f"the DAG cannot proceed past {sorted(pods)}"
            for task in ready:
                values = self._values(workflow, pods)
                if not _depends_met(task, pods, tasks):
                    pods[task["name"]] = Pod(task["name"], "Omitted")
                    continue
                if not _when(task, values):
                    pods[task["name"]] = Pod(task["name"], "Skipped")
                    continue
                arguments = {p["name"]: _substitute(p["value"], values)
                             for p in task.get("arguments", {}).get("parameters", [])}
                pods[task["name"]] = self._run_pod(task["name"], self.templates[task["template"]], workflow,
                                                   arguments)
        self.phase = dag_phase(dag, pods)
        if "onExit" in self.spec:
            self._globals["workflow.status"] = self.phase
            self.exit_handler = self._run_pod(self.spec["onExit"], self.templates[self.spec["onExit"]], workflow, {})
        return pods

    def _values(self, workflow: dict[str, str], pods: dict[str, Pod]) -> dict[str, str]:
        """What `{{...}}` may name: the workflow's parameters and globals, and the tasks' outputs so far."""
        values = {f"workflow.parameters.{k}": v for k, v in workflow.items()} | self._globals
        values |= {f"tasks.{name}.outputs.parameters.{k}": v
                   for name, pod in pods.items() for k, v in pod.outputs.items()}
        # a Skipped or Omitted task produced nothing: references to its declared outputs resolve to ""
        values |= {f"tasks.{name}.outputs.parameters.{output['name']}": ""
                   for name, pod in pods.items() if pod.phase in ("Skipped", "Omitted")
                   for output in self.templates[self._task_templates[name]].get("outputs", {}).get("parameters", [])}
        return values

    def _run_pod(self, task: str, template: dict[str, Any], workflow: dict[str, str],
                 arguments: dict[str, str]) -> Pod:
        declared = [p["name"] for p in template.get("inputs", {}).get("parameters", [])]
        assert set(arguments) == set(declared), f"{task}: arguments {sorted(arguments)} for inputs {declared}"
        values = self._values(workflow, {})
        values |= {f"inputs.parameters.{k}": v for k, v in arguments.items()}
        if "resource" in template:
            import yaml

            resource = template["resource"]
            assert resource["action"] == "create", f"{task}: resource action {resource['action']} is not emulated"
            self.created.append(yaml.safe_load(_substitute(resource["manifest"], values)))
            return Pod(task, "Succeeded", 0)
        root = self.work / f"pod-{task}"
        root.mkdir(parents=True)
        paths: dict[str, Path] = {}
        container = template["container"]
        for mount in container.get("volumeMounts", []):
            paths[mount["mountPath"]] = self._mount(root, mount)
        for artifact in template.get("inputs", {}).get("artifacts", []):
            paths[artifact["path"]] = self._fetch(root, artifact, values)

        def local(text: str) -> str:
            text = _substitute(text, values)
            for path in sorted(paths, key=len, reverse=True):
                if text == path or text.startswith(path.rstrip("/") + "/"):
                    return str(paths[path]) + text[len(path):]
            return text

        env = {e["name"]: local(e["value"]) if "value" in e else self._secret(task, e["valueFrom"])
               for e in container.get("env", [])}
        env |= self.overrides
        env["PATH"] = f"{Path(sys.executable).parent}:/usr/bin:/bin"
        command = [local(part) for part in container.get("command", []) + container.get("args", [])]
        cwd = local(container["workingDir"]) if container.get("workingDir") else str(root)
        result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=self.timeout)
        pod = Pod(task, "Succeeded" if result.returncode == 0 else "Failed", result.returncode,
                  log=result.stdout + result.stderr)
        for output in template.get("outputs", {}).get("parameters", []):
            source = Path(local(output["valueFrom"]["path"]))
            if source.is_file():
                pod.outputs[output["name"]] = source.read_text()
            elif "default" in output["valueFrom"]:
                pod.outputs[output["name"]] = output["valueFrom"]["default"]
            elif pod.phase == "Succeeded":  # Argo fails a pod whose declared output is missing
                pod.phase, pod.log = "Failed", pod.log + f"\n[emulator] output {source} missing"
        return pod

    def _secret(self, task: str, source: dict[str, Any]) -> str:
        """A secretKeyRef's value; kubelet refuses to start a pod whose Secret or key is missing."""
        ref = source["secretKeyRef"]
        value = self.secrets.get(ref["name"], {}).get(ref["key"])
        assert value is not None, f"{task}: Secret {ref['name']} has no key {ref['key']} (the pod would not start)"
        return value

    def _mount(self, root: Path, mount: dict[str, Any]) -> Path:
        target = root / mount["mountPath"].lstrip("/")
        volume = self.volumes[mount["name"]]
        target.mkdir(parents=True, exist_ok=True)
        if "configMap" in volume:
            data = self.config_maps[volume["configMap"]["name"]]
            for key, value in data.items():
                (target / key).write_text(value)
        else:
            assert "emptyDir" in volume, f"volume kind of {volume} is not emulated"
        return target

    def _fetch(self, root: Path, artifact: dict[str, Any], values: dict[str, str]) -> Path:
        git = artifact["git"]
        target = root / artifact["path"].lstrip("/")
        revision = _substitute(git["revision"], values)
        subprocess.run(["git", "clone", "--quiet", git["repo"], str(target)], check=True, capture_output=True)
        subprocess.run(["git", "-C", str(target), "checkout", "--quiet", "--detach", revision], check=True,
                       capture_output=True)
        return target


def _substitute(text: str, values: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        assert match.group(1) in values, f"{{{{{match.group(1)}}}}} has no value here"
        return values[match.group(1)]

    return _TEMPLATE.sub(value, text)


def _when(task: dict[str, Any], values: dict[str, str]) -> bool:
    """Argo's `when` for the forms mlplat renders: `<value> == <value>` or `!=`, after substitution."""
    if "when" not in task:
        return True
    text = _substitute(task["when"], values)
    for operator, equal in ((" == ", True), (" != ", False)):
        left, found, right = text.partition(operator)
        if found:
            return (left.strip() == right.strip()) is equal
    raise AssertionError(f"when {task['when']!r} is not emulated")


def _needs(task: dict[str, Any]) -> set[str]:
    if "depends" in task:
        return set(_TASK.findall(task["depends"]))
    return set(task.get("dependencies", []))


def _depends_met(task: dict[str, Any], pods: dict[str, Pod], tasks: dict[str, dict[str, Any]]) -> bool:
    """Argo's `depends`: `a.Failed` that a failed, and so on; a bare `a` that a Succeeded or was Skipped
    (never Omitted). `dependencies: [a]` is a bare `a`, and also `a.Failed` (`.Errored`) where a continues
    on failure (error)."""
    expression = task.get("depends")
    if expression is None:
        if not task.get("dependencies"):
            return True
        expression = " && ".join(_expanded(name, tasks[name]) for name in task["dependencies"])

    def phase(match: re.Match[str]) -> str:
        name, result = match.group(1), match.group(2)
        if result:
            return repr(pods[name].phase == {"Errored": "Error"}.get(result, result))
        return repr(pods[name].phase in ("Succeeded", "Skipped"))

    python = re.sub(_TASK.pattern + r"(?:\.(Succeeded|Failed|Errored|Skipped|Omitted))?", phase, expression)
    return bool(eval(python.replace("&&", " and ").replace("||", " or ").replace("!", " not ")))  # noqa: S307


def _expanded(name: str, task: dict[str, Any]) -> str:
    results = ["Succeeded", "Skipped"]
    results += [result for result, key in (("Failed", "failed"), ("Errored", "error"))
                if (task.get("continueOn") or {}).get(key)]
    return "(" + " || ".join(f"{name}.{result}" for result in results) + ")"


def dag_phase(dag: list[dict[str, Any]], pods: dict[str, Pod]) -> str:
    """The DAG's phase by Argo's assessDAGPhase: Failed (or Error) where a target task's branch failed."""
    parents = {t["name"]: _needs(t) for t in dag}
    targets = [name for name in parents if not any(name in needs for needs in parents.values())]

    def branch(name: str) -> set[str]:
        """The phases a task carries to its children: its own once it ran, else every parent's."""
        if pods[name].phase in COMPLETED:
            return {pods[name].phase}
        return set().union(*(branch(parent) for parent in parents[name])) if parents[name] else {"Succeeded"}

    continues = {t["name"]: t.get("continueOn") or {} for t in dag}
    for name in targets:
        phases = branch(name)
        for failed, key in (("Failed", "failed"), ("Error", "error")):
            if failed in phases and not continues[name].get(key):
                return failed
    return "Succeeded"
