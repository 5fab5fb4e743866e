"""Kubernetes label selectors (metav1.LabelSelector) evaluated against a label map."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Selector = Mapping[str, Any]


def matches(selector: Selector | None, labels: Mapping[str, str]) -> bool:
    """Whether `labels` satisfy `selector`; an empty selector matches everything, None matches nothing.

    matchLabels and every matchExpressions requirement must all hold. `NotIn` and `DoesNotExist` hold for
    objects that lack the key entirely.
    """
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != str(value):
            return False
    for requirement in selector.get("matchExpressions") or []:
        key = requirement.get("key", "")
        operator = requirement.get("operator", "")
        values = [str(v) for v in requirement.get("values") or []]
        present = key in labels
        if operator == "In":
            ok = present and labels[key] in values
        elif operator == "NotIn":
            ok = not present or labels[key] not in values
        elif operator == "Exists":
            ok = present
        elif operator == "DoesNotExist":
            ok = not present
        else:
            raise ValueError(f"unknown label selector operator {operator!r} for key {key!r}")
        if not ok:
            return False
    return True


def problems(selector: Selector | None) -> list[str]:
    """What the API server would reject in this selector (empty when it is valid)."""
    found: list[str] = []
    if selector is None:
        return found
    if not isinstance(selector, Mapping):
        return ["a label selector must be a mapping"]
    unknown = sorted(set(selector) - {"matchLabels", "matchExpressions"})
    if unknown:
        found.append(f"unknown label selector field(s) {', '.join(map(str, unknown))}")
    if not isinstance(selector.get("matchLabels") or {}, Mapping):
        found.append("matchLabels must be a mapping of label to value")
    expressions = selector.get("matchExpressions") or []
    if not isinstance(expressions, list) or not all(isinstance(r, Mapping) for r in expressions):
        return [*found, "matchExpressions must be a list of {key, operator, values} mappings"]
    for requirement in expressions:
        key, operator = requirement.get("key", ""), requirement.get("operator", "")
        if not key:
            found.append("a matchExpressions requirement needs a key")
        values = requirement.get("values") or []
        if operator in ("In", "NotIn") and not values:
            found.append(f"operator {operator} for key {key!r} needs values")
        elif operator in ("Exists", "DoesNotExist") and values:
            found.append(f"operator {operator} for key {key!r} takes no values")
        elif operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            found.append(f"unknown label selector operator {operator!r} for key {key!r}")
    return found


def describe(selector: Selector | None) -> str:
    """A selector in kubectl's `-l` notation; `{}` (all) for an empty one."""
    if selector is None:
        return "<none>"
    parts = [f"{key}={value}" for key, value in sorted((selector.get("matchLabels") or {}).items())]
    for requirement in selector.get("matchExpressions") or []:
        key, operator = requirement.get("key", ""), requirement.get("operator", "")
        values = ",".join(str(v) for v in requirement.get("values") or [])
        if operator == "In":
            parts.append(f"{key} in ({values})")
        elif operator == "NotIn":
            parts.append(f"{key} notin ({values})")
        elif operator == "Exists":
            parts.append(key)
        elif operator == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts) if parts else "{}"
