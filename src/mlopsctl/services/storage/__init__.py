"""`storage install|status|uninstall`, and the tenant hooks the lifecycle calls: the object store in its own
namespace, with generated credentials that stay stable across re-installs.

For `cluster up` and `tenant add|remove` (the lifecycle's code calls these, nothing else):

    install_storage(api, status, StoreSpec(...), wait=True)      # idempotent; keeps existing credentials
    grant_tenant_access(api, status, "tenant-a")                  # credentials + Secret in the tenant namespace
    revoke_tenant_access(api, status, "tenant-a")                 # on `tenant remove`

Credentials come from `secrets.token_*` (injectable for tests) and live only in Secrets: the store's admin pair
and engine configuration in the store namespace, each tenant's read-only pair in its own namespace.

    common.py   the recorded spec, credentials, result types
    install.py  install, uninstall, the `cluster up` installer
    access.py   grant, revoke and check a tenant's access
    status.py   status
"""

from mlopsctl.services.storage.access import (
    admin_credentials,
    grant_tenant_access,
    revoke_tenant_access,
    store_endpoints,
    tenant_has_access,
)
from mlopsctl.services.storage.common import (
    STORE_SPEC_ANNOTATION,
    StorageInstallResult,
    StorageStatus,
    StorageUninstallResult,
    TenantAccess,
    describe,
    existing_credentials,
    existing_namespaces,
    generate_credentials,
    installed_spec,
    isolation_text,
    node_cidrs,
    resolve_spec,
    spec_from_namespace,
    spec_to_json,
    tenant_namespaces,
    tenant_secret_credentials,
)
from mlopsctl.services.storage.install import cluster_installer, install_storage, uninstall_storage
from mlopsctl.services.storage.status import storage_status

__all__ = [
    "STORE_SPEC_ANNOTATION",
    "StorageInstallResult",
    "StorageStatus",
    "StorageUninstallResult",
    "TenantAccess",
    "admin_credentials",
    "cluster_installer",
    "describe",
    "existing_credentials",
    "existing_namespaces",
    "generate_credentials",
    "grant_tenant_access",
    "install_storage",
    "installed_spec",
    "isolation_text",
    "node_cidrs",
    "resolve_spec",
    "revoke_tenant_access",
    "spec_from_namespace",
    "spec_to_json",
    "storage_status",
    "store_endpoints",
    "tenant_has_access",
    "tenant_namespaces",
    "tenant_secret_credentials",
    "uninstall_storage",
]
