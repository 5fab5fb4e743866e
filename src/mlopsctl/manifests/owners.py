"""Tenant owners: who may run a tenant's service, written `user:NAME`, `group:NAME` or `sa:NAMESPACE/NAME`.

    owner = Owner.parse("sa:ci/deployer")       # Owner(kind="ServiceAccount", name="deployer", namespace="ci")
    owner.text                                  # "sa:ci/deployer", the canonical form kept in the tenant spec
    owner.subject()                             # the RoleBinding subject for it

Names under the reserved `system:` prefix are refused: `group:system:authenticated` would make every
authenticated user an owner, and service accounts are named with `sa:` instead of their `system:` user name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

RBAC_GROUP = "rbac.authorization.k8s.io"
PREFIXES = {"user": "User", "group": "Group", "sa": "ServiceAccount"}
MAX_NAME = 253

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
FORMAT_HINT = "write owners as user:NAME, group:NAME or sa:NAMESPACE/NAME"


class InvalidOwner(ValueError):
    def __init__(self, problem: str, hint: str = FORMAT_HINT) -> None:
        super().__init__(problem)
        self.problem = problem
        self.hint = hint


@dataclass(frozen=True, order=True)
class Owner:
    kind: str  # User, Group or ServiceAccount
    name: str
    namespace: str = ""  # ServiceAccount only

    @classmethod
    def parse(cls, text: Any) -> Owner:
        if not isinstance(text, str):
            raise InvalidOwner(f"expected a string like user:alice, got {text!r}")
        prefix, sep, rest = text.partition(":")
        if not sep or prefix not in PREFIXES:
            raise InvalidOwner(f"{text!r} does not start with user:, group: or sa:")
        kind = PREFIXES[prefix]
        if kind == "ServiceAccount":
            namespace, slash, name = rest.partition("/")
            if not slash:
                raise InvalidOwner(f"{text!r} names no namespace", hint="write a service account as sa:NAMESPACE/NAME")
            if not _DNS_LABEL.fullmatch(namespace):
                raise InvalidOwner(f"{text!r}: {namespace!r} is not a namespace name (a DNS-1123 label)")
            if len(name) > MAX_NAME or not _DNS_SUBDOMAIN.fullmatch(name):
                raise InvalidOwner(f"{text!r}: {name!r} is not a service account name (a DNS-1123 subdomain)")
            return cls(kind, name, namespace)
        if not rest or len(rest) > MAX_NAME or not rest.isprintable() or rest != rest.strip():
            raise InvalidOwner(f"{text!r}: the {prefix} name must be 1 to {MAX_NAME} printable characters")
        if rest.startswith("system:"):
            raise InvalidOwner(
                f"{text!r}: names under system: are reserved for Kubernetes",
                hint="name people and teams by the user and group names your authenticator gives them; "
                "a service account as sa:NAMESPACE/NAME",
            )
        return cls(kind, rest)

    @classmethod
    def from_subject(cls, subject: Mapping[str, Any], binding_namespace: str) -> Owner:
        """The owner a RoleBinding subject stands for (a ServiceAccount without a namespace: the binding's)."""
        kind = str(subject.get("kind", ""))
        name = str(subject.get("name", ""))
        if kind == "ServiceAccount":
            return cls(kind, name, str(subject.get("namespace") or binding_namespace))
        return cls(kind, name)

    @property
    def text(self) -> str:
        if self.kind == "ServiceAccount":
            return f"sa:{self.namespace}/{self.name}"
        prefix = "user" if self.kind == "User" else "group" if self.kind == "Group" else self.kind.lower()
        return f"{prefix}:{self.name}"

    def subject(self) -> dict[str, str]:
        if self.kind == "ServiceAccount":
            return {"kind": self.kind, "name": self.name, "namespace": self.namespace}
        return {"kind": self.kind, "apiGroup": RBAC_GROUP, "name": self.name}


def tenant_owner_account(namespace: str, name: str) -> Owner:
    """The tenant-scoped service account bound beside the owners (`tenant kubeconfig` hands out its tokens)."""
    return Owner("ServiceAccount", name, namespace)


def normalize_owners(value: Any) -> tuple[str, ...]:
    """Owners from loose input (one string, or a list of them) as sorted, unique canonical texts."""
    if value is None:
        return ()
    items: Iterable[Any] = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise InvalidOwner(f"expected a list of owners, got {value!r}")
    return tuple(sorted({Owner.parse(item).text for item in items}))
