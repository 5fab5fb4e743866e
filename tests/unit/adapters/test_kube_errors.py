"""Error mapping at the kubernetes boundary: each ApiException status becomes a typed error with a hint."""

from __future__ import annotations

import json

import pytest
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import MaxRetryError, NewConnectionError

from mlopsctl.adapters.kube import conflict_managers, map_errors, translate_api_error
from mlopsctl.errors import ClusterError, ClusterUnreachable, Conflict, ExitCode, Forbidden, NotFound, UsageError


def api_error(code: int, message: str, **extra) -> ApiException:
    exc = ApiException(status=code, reason="x")
    exc.body = json.dumps({"kind": "Status", "message": message, "code": code, **extra})
    return exc


@pytest.mark.parametrize(
    ("code", "kind", "hint_part"),
    [
        (401, Forbidden, "credentials"),
        (403, Forbidden, "permission"),
        (404, NotFound, None),
        (409, Conflict, "re-run"),
        (422, UsageError, None),
        (400, ClusterError, "Kubernetes version"),
        (429, ClusterUnreachable, "retry"),
        (503, ClusterUnreachable, "retry"),
    ],
)
def test_statuses(code, kind, hint_part):
    error = translate_api_error(api_error(code, "boom"), "applying Deployment t/inference")
    assert type(error) is kind
    assert error.message.startswith("applying Deployment t/inference: ")
    assert "boom" in error.message
    if hint_part:
        assert hint_part in error.hint
    assert error.exit_code in (ExitCode.CLUSTER_UNREACHABLE, ExitCode.USAGE)


def test_an_apply_conflict_names_every_manager_and_field():
    causes = [
        {"type": "FieldManagerConflict", "message": 'conflict with "helm" using apps/v1', "field": ".spec.replicas"},
        {"type": "FieldManagerConflict", "message": 'conflict with "argocd-controller"', "field": ".spec.template"},
    ]
    exc = api_error(409, "Apply failed with 2 conflicts", details={"causes": causes})

    error = translate_api_error(exc, "applying Deployment t/inference", apply=True)

    assert error.message == (
        "applying Deployment t/inference: field conflict with manager(s) helm, argocd-controller on "
        ".spec.replicas, .spec.template"
    )
    assert "--force" in error.hint
    assert conflict_managers({"message": 'conflict with "kubectl"'}) == (["kubectl"], [])


def test_connection_failures_are_cluster_unreachable():
    cause = NewConnectionError(None, "Connection refused")
    with pytest.raises(ClusterUnreachable) as caught, map_errors("listing Node", "https://127.0.0.1:6443"):
        raise MaxRetryError(None, "/api", reason=cause)
    assert "cannot reach the Kubernetes API at https://127.0.0.1:6443" in caught.value.message
    assert "--context" in caught.value.hint


def test_our_own_errors_pass_through_unchanged():
    original = NotFound("the server does not serve x/v1 Y")
    with pytest.raises(NotFound) as caught, map_errors("anything"):
        raise original
    assert caught.value is original
