"""Pure evaluators over Kubernetes objects (plain dicts): NetworkPolicy connectivity, RBAC, HPA readiness and
the mlopsctl isolation expectations. No I/O: used offline on rendered manifests and live on objects read from a
cluster."""
