"""The real adapter and the fake keep up with the KubeApi Protocol: same methods, same parameters."""

from __future__ import annotations

import inspect

import pytest

from mlopsctl.adapters.base import KubeApi
from mlopsctl.adapters.fakes import FakeKubeApi
from mlopsctl.adapters.kube import KubernetesApi

METHODS = sorted(name for name, value in vars(KubeApi).items() if callable(value) and not name.startswith("_"))


@pytest.mark.parametrize("implementation", [KubernetesApi, FakeKubeApi])
@pytest.mark.parametrize("method", METHODS)
def test_every_protocol_method_is_implemented_with_its_parameters(implementation, method):
    expected = list(inspect.signature(getattr(KubeApi, method)).parameters)
    actual = list(inspect.signature(getattr(implementation, method)).parameters)
    assert actual == expected


def test_the_protocol_is_not_empty():
    assert {"apply", "get", "list", "delete", "wait_for", "exec", "access_review"} <= set(METHODS)
