"""Names and numbers that the templates, the services and the verifiers must agree on."""

from __future__ import annotations

from mlopsctl import __version__

FIELD_MANAGER = "mlopsctl"

# Labels carried by every object mlopsctl creates; the cluster, not a state file, is the source of truth.
NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"
PART_OF_LABEL = "app.kubernetes.io/part-of"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
COMPONENT_LABEL = "app.kubernetes.io/component"
TENANT_LABEL = "mlopsctl.io/tenant"
# Stamped by `tenant add` on every object of the tenant's own object set: pruning selects by it, so objects
# that other parts put into a tenant namespace (model-store credentials, load-test jobs) are never pruned.
OBJECT_SET_LABEL = "mlopsctl.io/object-set"
TENANT_OBJECT_SET = "tenant"
MANAGED_BY = "mlopsctl"
PART_OF = "mlopsctl"
# Kubernetes sets this label on every namespace itself; select namespaces by it, never by labels nobody sets.
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"

APP_NAME = "inference"
DEFAULT_TENANTS = ("tenant-a", "tenant-b")
# The Kind node image's Kubernetes minor version unless told otherwise (`cluster up --kubernetes-version`).
DEFAULT_KUBERNETES_VERSION = "1.31"
DEFAULT_CLUSTER_NAME = "mlopsctl"

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
# The base that `image base` makes with debootstrap + docker import, for hosts where no registry is reachable.
IMAGE_BASE = "mlopsctl/base:bookworm"
# What the inference image is built FROM unless `--base-image` says otherwise.
DEFAULT_BASE_IMAGE = "python:3.11-slim"
# `cluster up` records the image it deployed here (in SYSTEM_NAMESPACE), so `tenant add`, `loadtest` and verify
# use an image the cluster can pull instead of a local tag only Kind nodes have.
PLATFORM_CONFIGMAP = "mlopsctl-platform"

# Tenants (manifests/tenant.py). The image a tenant runs unless told otherwise: `image build` tags the version.
IMAGE_TAG = __version__
DEFAULT_IMAGE = f"{IMAGE_REPOSITORY}:{IMAGE_TAG}"
# The container's command and the model it serves when the tenant names no s3:// model_uri (baked into the image).
INFERENCE_COMMAND = ("python", "-m", "inference", "serve")
DEFAULT_MODEL_URI = IMAGE_MODEL_DIR
DEFAULT_MODEL_VERSION = "builtin"
# The region the model store signs for: the default of --region and of a tenant's AWS_REGION.
STORE_REGION = "us-east-1"
# A tenant with a model_uri reads its S3 settings from this Secret in its own namespace, keys as listed. The
# Secret is mounted read-only as files at MODEL_STORE_MOUNT, and `<KEY>_FILE` variables point the service's
# loader at them: no key is ever in the pod's environment.
MODEL_STORE_SECRET = "model-store-credentials"
MODEL_STORE_SECRET_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "S3_ENDPOINT_URL", "AWS_REGION")
MODEL_STORE_MOUNT = "/var/run/secrets/mlopsctl/model-store"
# Pod template annotations: a hash of the pod's configuration (changes roll the pods) and the model it serves.
CONFIG_HASH_ANNOTATION = "mlopsctl.io/config-hash"
MODEL_VERSION_ANNOTATION = "mlopsctl.io/model-version"
# The whole tenant spec as JSON on the tenant Namespace, so re-rendering from the cluster loses no option.
TENANT_SPEC_ANNOTATION = "mlopsctl.io/tenant-spec"
# Tenant owners (`tenant add --owner`): the Role they are bound to, its RoleBinding, and the tenant-scoped
# ServiceAccount bound beside them whose short-lived tokens `tenant kubeconfig` hands out. One name for all three.
TENANT_OWNER = "tenant-owner"
# Which kube-dns pods tenant DNS egress may reach (kube-system; the label CoreDNS carries on Kind, EKS, GKE).
DNS_NAMESPACE = "kube-system"
DNS_POD_LABELS = (("k8s-app", "kube-dns"),)
# GPU tenants: the extended resource, the taint GPU node pools carry, and their default node selector
# (set by NVIDIA GPU feature discovery / the GPU operator; override it per tenant for a Karpenter or GKE pool).
GPU_RESOURCE = "nvidia.com/gpu"
GPU_NODE_SELECTOR = (("nvidia.com/gpu.present", "true"),)
# kube-prometheus-stack picks ServiceMonitors up by this label (its default selector is release=<release name>).
MONITORING_RELEASE = "kube-prometheus-stack"
SERVICE_MONITOR_LABELS = (("release", MONITORING_RELEASE),)
# The in-cluster load generator (`mlopsctl loadtest`): a Job running `python -m inference.loadgen` from the
# tenant's image. Its pods carry LOADTEST_RUN_LABEL=<job name> and never the service's selector labels.
LOADTEST_APP = "loadgen"
LOADTEST_COMPONENT = "loadtest"
LOADTEST_RUN_LABEL = "mlopsctl.io/loadtest"
LOADTEST_CONTAINER = "loadgen"
LOADTEST_COMMAND = ("python", "-m", "inference.loadgen")
LOADTEST_REQUESTS = (("cpu", "250m"), ("memory", "128Mi"))
LOADTEST_LIMITS = (("cpu", "500m"), ("memory", "256Mi"))
# The probe pods of `verify network`: an outsider in a scratch namespace and a later pod in each tenant namespace,
# the tenant's image, owned by one run (VERIFY_RUN_LABEL=<run id>) and never carrying the service's selector
# labels. VERIFY_PROBE_ROLE_LABEL says which of the two a pod stands for; the isolation rules read it.
VERIFY_RUN_LABEL = "mlopsctl.io/verify-run"
VERIFY_PROBE_ROLE_LABEL = "mlopsctl.io/probe-role"
OUTSIDER_ROLE = "outsider"
LATER_POD_ROLE = "later-pod"
PROBE_CONTAINER = "probe"
PROBE_PORT = 8080
PROBE_REQUESTS = (("cpu", "10m"), ("memory", "32Mi"))
PROBE_LIMITS = (("cpu", "200m"), ("memory", "96Mi"))
