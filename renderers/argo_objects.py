"""Argo Workflows objects as plain data: what the workflow renderers (argo.py, canary.py, monitor_job.py)
build their CronWorkflows and WorkflowTemplates from.

Each object's fields come in the order Argo's own models, and Hera, which is generated from them,
write them (alphabetical), and a field without a value is left out, as Hera leaves it out; maps the
renderers pass in (resources, node selectors) keep their order. Hera built these objects until it
cost about 6 ms per WorkflowTemplate and 1.1 s to import; the tests read every rendered one through
Hera's generated models of Argo's API (tests/renderers/test_argo_hera_models.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

API_VERSION = "argoproj.io/v1alpha1"
Object = dict[str, Any]


def fields(**values: Any) -> Object:
    """An object of Argo's models: fields in their order, those without a value (None, empty) left out."""
    return {key: values[key] for key in sorted(values) if values[key] is not None and values[key] != []}


def manifest(kind: str, metadata: Object, spec: Object) -> Object:
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}


def env(name: str, value: str) -> Object:
    return {"name": name, "value": value}


def secret_env(name: str, secret: str, key: str) -> Object:
    return {"name": name, "valueFrom": {"secretKeyRef": {"key": key, "name": secret}}}


def parameter(name: str, value: str | None = None, *, description: str | None = None,
              value_from: Object | None = None) -> Object:
    return fields(description=description, name=name, value=value, valueFrom=value_from)


def output(name: str, path: str, default: str | None = None) -> Object:
    """An output parameter read from a file the step writes (`default` where it writes none)."""
    return parameter(name, value_from=fields(default=default, path=path))


def report_artifact(path: str) -> Object:
    """An HTML report kept as it is (not archived), as the output artifact `report`."""
    return {"archive": {"none": {}}, "name": "report", "path": path}


def git_artifact(name: str, path: str, repo: str, revision: str, secret: str | None) -> Object:
    """The repository at `revision`, cloned by Argo into `path` (with the user and password of `secret`)."""
    credentials = {"passwordSecret": {"key": "password", "name": secret},
                   "usernameSecret": {"key": "username", "name": secret}} if secret else {}
    return {"git": fields(repo=repo, revision=revision, **credentials), "name": name, "path": path}


def retry(limit: int, policy: str, backoff: Object | None = None) -> Object:
    return fields(backoff=backoff, limit=str(limit), retryPolicy=policy)


def container_template(name: str, container: Object, *, inputs: Sequence[Object] = (),
                       artifacts: Sequence[Object] = (), outputs: Sequence[Object] = (),
                       output_artifacts: Sequence[Object] = (),
                       **template: Any) -> Object:
    """A template running one container; `inputs` and `outputs` are parameters, `template` more fields
    of the template itself (activeDeadlineSeconds, retryStrategy, nodeSelector, tolerations)."""
    return fields(name=name, container=container,
                  inputs=fields(artifacts=list(artifacts), parameters=list(inputs)) or None,
                  outputs=fields(artifacts=list(output_artifacts), parameters=list(outputs)) or None, **template)


def container(image: str, args: list[str], env: list[Object], resources: Object, volume_mounts: list[Object],
              security_context: Object) -> Object:
    return fields(args=args, command=["python"], env=env, image=image, resources=resources,
                  securityContext=security_context, volumeMounts=volume_mounts)


def resource_template(name: str, action: str, manifest_yaml: str, service_account: str) -> Object:
    return {"name": name, "resource": {"action": action, "manifest": manifest_yaml},
            "serviceAccountName": service_account}


def dag_template(name: str, tasks: list[Object]) -> Object:
    return {"dag": {"tasks": tasks}, "name": name}


def task(name: str, arguments: dict[str, str] | None = None, *, depends: str | None = None,
         when: str | None = None) -> Object:
    """A DAG task running the template of its own name, with `arguments` as parameters."""
    parameters = [env(key, value) for key, value in (arguments or {}).items()]  # the same shape: name, value
    return fields(arguments={"parameters": parameters} if parameters else None, depends=depends, name=name,
                  template=name, when=when)


def cron_spec(schedule: str, starting_deadline: int, workflow_spec: Object) -> Object:
    """A CronWorkflow's spec: one schedule in UTC, never two runs at once, a short history."""
    return fields(concurrencyPolicy="Forbid", failedJobsHistoryLimit=5, schedules=[schedule],
                  startingDeadlineSeconds=starting_deadline, successfulJobsHistoryLimit=3, timezone="UTC",
                  workflowSpec=workflow_spec)
