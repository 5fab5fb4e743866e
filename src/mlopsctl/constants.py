"""Names and numbers that the templates, the services and the verifiers must agree on."""

from __future__ import annotations

FIELD_MANAGER = "mlopsctl"

# Labels carried by every object mlopsctl creates; the cluster, not a state file, is the source of truth.
NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"
PART_OF_LABEL = "app.kubernetes.io/part-of"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
COMPONENT_LABEL = "app.kubernetes.io/component"
TENANT_LABEL = "mlopsctl.io/tenant"
MANAGED_BY = "mlopsctl"
PART_OF = "mlopsctl"
# Kubernetes sets this label on every namespace itself; select namespaces by it, never by labels nobody sets.
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"

APP_NAME = "inference"
DEFAULT_TENANTS = ("tenant-a", "tenant-b")

# The inference container serves the API and /metrics on one port; the Service maps 80 to it.
CONTAINER_PORT = 8080
CONTAINER_PORT_NAME = "http"
SERVICE_PORT = 80

MONITORING_NAMESPACE = "monitoring"
STORAGE_NAMESPACE = "object-store"
STORAGE_S3_PORT = 8333  # SeaweedFS S3 gateway
SYSTEM_NAMESPACE = "mlopsctl-system"

PLATFORM_NAMESPACES = (
    "default",
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "local-path-storage",
    MONITORING_NAMESPACE,
    STORAGE_NAMESPACE,
    SYSTEM_NAMESPACE,
)

# NodePorts that the Kind config maps to 127.0.0.1 on the host.
GRAFANA_NODE_PORT = 30080
PROMETHEUS_NODE_PORT = 30090
STORAGE_NODE_PORT = 30333

IMAGE_REPOSITORY = "mlopsctl/inference"
# Inside the image: the default model, built at image build time from the shipped data set.
IMAGE_MODEL_DIR = "/opt/mlopsctl/model"
IMAGE_UID = 10001
