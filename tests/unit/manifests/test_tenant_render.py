"""What the tenant object set must say: order, labels, hardening, isolation, autoscaling, GPU, model store."""

from __future__ import annotations

import pytest

from mlopsctl import constants
from mlopsctl.manifests.tenant import TenantSpec, render_tenant, render_yaml

SELECTOR = {"app.kubernetes.io/name": "inference", "app.kubernetes.io/instance": "tenant-c"}
APPLY_ORDER = [
    "Namespace",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ResourceQuota",
    "LimitRange",
    "NetworkPolicy",
    "NetworkPolicy",
    "NetworkPolicy",
    "NetworkPolicy",
    "NetworkPolicy",
    "NetworkPolicy",
    "Service",
    "Deployment",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
]


def objects_of(spec: TenantSpec) -> list[dict]:
    return render_tenant(spec)


def one(objects: list[dict], kind: str) -> dict:
    found = [o for o in objects if o["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def named(objects: list[dict], kind: str, name: str) -> dict:
    [found] = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def policies(objects: list[dict]) -> dict[str, dict]:
    return {o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "NetworkPolicy"}


def container(objects: list[dict]) -> dict:
    [main] = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    return main


@pytest.fixture(scope="module")
def default_objects() -> list[dict]:
    return objects_of(TenantSpec.create("tenant-c"))


def test_objects_come_in_apply_order_namespace_first(default_objects):
    assert [o["kind"] for o in default_objects] == APPLY_ORDER


def test_every_namespaced_object_lives_in_the_tenant_namespace(default_objects):
    assert default_objects[0]["metadata"]["name"] == "tenant-c"
    for obj in default_objects[1:]:
        assert obj["metadata"]["namespace"] == "tenant-c", obj["kind"]


def test_every_object_carries_the_design_labels(default_objects):
    expected = {
        "app.kubernetes.io/name": "inference",
        "app.kubernetes.io/instance": "tenant-c",
        "app.kubernetes.io/part-of": "mlopsctl",
        "app.kubernetes.io/managed-by": "mlopsctl",
        "mlopsctl.io/tenant": "tenant-c",
    }
    for obj in default_objects:
        labels = obj["metadata"]["labels"]
        assert {k: labels.get(k) for k in expected} == expected, obj["kind"]
    pod_labels = one(default_objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert {k: pod_labels.get(k) for k in expected} == expected


def test_namespace_enforces_pod_security_restricted(default_objects):
    labels = default_objects[0]["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"


def test_namespace_records_the_spec_it_was_rendered_from():
    spec = TenantSpec.create("tenant-c", max_replicas=4, model_version="v7")
    annotation = render_tenant(spec)[0]["metadata"]["annotations"][constants.TENANT_SPEC_ANNOTATION]
    assert TenantSpec.from_json(annotation) == spec


def test_service_account_has_no_token(default_objects):
    accounts = [o for o in default_objects if o["kind"] == "ServiceAccount"]
    assert [a["metadata"]["name"] for a in accounts] == ["inference", "tenant-owner"]
    assert all(account["automountServiceAccountToken"] is False for account in accounts)
    pod = one(default_objects, "Deployment")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == "inference"


def test_role_grants_nothing_dangerous_and_is_bound_to_the_service_account(default_objects):
    role = named(default_objects, "Role", "inference")
    forbidden = {"networkpolicies", "rolebindings", "roles", "secrets", "*"}
    for rule in role.get("rules") or []:
        assert not forbidden & set(rule.get("resources", [])), rule
        assert "*" not in rule.get("verbs", [])
    binding = named(default_objects, "RoleBinding", "inference")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "inference"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "inference", "namespace": "tenant-c"}]


def test_deployment_is_hardened(default_objects):
    deployment = one(default_objects, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == constants.IMAGE_UID
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    main = container(default_objects)
    security = main["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["runAsNonRoot"] is True
    assert {"name": "tmp", "mountPath": "/tmp"} in main["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in pod["volumes"]
    assert main["resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "500m", "memory": "512Mi"},
    }


def test_deployment_leaves_the_scale_to_the_hpa(default_objects):
    deployment = one(default_objects, "Deployment")
    assert "replicas" not in deployment["spec"]
    hpa = one(default_objects, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "inference"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 10)
    [metric] = hpa["spec"]["metrics"]
    assert metric["resource"] == {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}
    assert set(hpa["spec"]["behavior"]) == {"scaleUp", "scaleDown"}


def test_container_runs_the_service_with_its_port_env_and_probes(default_objects):
    main = container(default_objects)
    assert main["command"] == ["python", "-m", "inference", "serve"]
    assert main["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    env = {e["name"]: e.get("value") for e in main["env"]}
    assert env == {
        "TENANT_NAME": "tenant-c",
        "PORT": "8080",
        "MODEL_URI": constants.DEFAULT_MODEL_URI,
        "MODEL_VERSION": constants.DEFAULT_MODEL_VERSION,
    }
    assert main["startupProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert main["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}


def test_service_maps_port_80_to_the_named_container_port(default_objects):
    service = one(default_objects, "Service")
    assert service["metadata"]["name"] == "inference"
    assert service["spec"]["ports"] == [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": "http"}]
    pod_labels = one(default_objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()


def test_selectors_match_the_pods(default_objects):
    deployment = one(default_objects, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selectors = [
        deployment["spec"]["selector"]["matchLabels"],
        one(default_objects, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
        deployment["spec"]["template"]["spec"]["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"],
    ]
    for selector in selectors:
        assert selector.items() <= pod_labels.items()


def test_pods_spread_across_nodes(default_objects):
    [spread] = one(default_objects, "Deployment")["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert spread["topologyKey"] == "kubernetes.io/hostname"


def test_default_deny_covers_both_directions_for_every_pod(default_objects):
    deny = policies(default_objects)["default-deny-all"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_allow_rules_are_exactly_the_designed_ones(default_objects):
    by_name = policies(default_objects)
    assert set(by_name) == {
        "default-deny-all",
        "allow-same-tenant-ingress",
        "allow-same-tenant-egress",
        "allow-monitoring-scrape",
        "allow-dns-egress",
        "allow-object-store-egress",
    }
    same = by_name["allow-same-tenant-ingress"]
    assert same["ingress"] == [{"from": [{"podSelector": {}}], "ports": [{"protocol": "TCP", "port": 8080}]}]
    assert same["podSelector"] == {"matchLabels": SELECTOR}
    # Default deny covers egress as well: without the matching egress rule, tenant pods could not call the service.
    same_egress = by_name["allow-same-tenant-egress"]
    assert same_egress == {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"podSelector": {"matchLabels": SELECTOR}}], "ports": [{"protocol": "TCP", "port": 8080}]}],
    }
    scrape = by_name["allow-monitoring-scrape"]
    assert scrape["ingress"] == [
        {
            "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
            "ports": [{"protocol": "TCP", "port": 8080}],
        }
    ]
    dns = by_name["allow-dns-egress"]
    assert dns["egress"] == [
        {
            "to": [
                {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                }
            ],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        }
    ]
    store = by_name["allow-object-store-egress"]
    assert store["egress"] == [
        {
            "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "object-store"}}}],
            "ports": [{"protocol": "TCP", "port": constants.STORAGE_S3_PORT}],
        }
    ]


def test_no_policy_opens_ip_blocks_or_selects_namespaces_by_unset_labels(default_objects):
    for name, spec in policies(default_objects).items():
        for rule in spec.get("ingress", []) + spec.get("egress", []):
            peers = rule.get("from", []) + rule.get("to", [])
            assert peers, f"{name}: a rule without peers allows everyone"
            assert rule.get("ports"), f"{name}: a rule without ports allows every port"
            for peer in peers:
                assert "ipBlock" not in peer, name
                if "namespaceSelector" in peer:
                    assert set(peer["namespaceSelector"]["matchLabels"]) == {constants.NAMESPACE_NAME_LABEL}
    assert "0.0.0.0/0" not in render_yaml(default_objects)


def test_policy_ports_are_the_container_port(default_objects):
    container_ports = {p["containerPort"] for p in container(default_objects)["ports"]}
    for name in ("allow-same-tenant-ingress", "allow-same-tenant-egress", "allow-monitoring-scrape"):
        spec = policies(default_objects)[name]
        for rule in spec.get("ingress", []) + spec.get("egress", []):
            assert {p["port"] for p in rule["ports"]} <= container_ports


def test_quota_and_limit_range_follow_the_spec():
    spec = TenantSpec.create("tenant-c", max_replicas=4, cpu_limit="1", memory_limit="1Gi", quota_pods=9)
    objects = render_tenant(spec)
    hard = one(objects, "ResourceQuota")["spec"]["hard"]
    assert hard["pods"] == "9"
    assert (hard["limits.cpu"], hard["limits.memory"]) == ("7", "7Gi")
    assert (hard["services.loadbalancers"], hard["services.nodeports"]) == ("0", "0")
    [limits] = one(objects, "LimitRange")["spec"]["limits"]
    assert limits == {
        "type": "Container",
        "default": {"cpu": "1", "memory": "1Gi"},
        "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
    }


def test_pdb_lets_one_pod_go_at_a_time(default_objects):
    assert one(default_objects, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1


def test_service_monitor_only_when_asked_and_labelled_for_the_prometheus_release(default_objects):
    assert all(o["kind"] != "ServiceMonitor" for o in default_objects)
    objects = render_tenant(TenantSpec.create("tenant-c", service_monitor=True))
    monitor = objects[-1]
    assert (monitor["apiVersion"], monitor["kind"]) == ("monitoring.coreos.com/v1", "ServiceMonitor")
    assert monitor["metadata"]["labels"].items() >= dict(constants.SERVICE_MONITOR_LABELS).items()
    assert monitor["spec"]["endpoints"][0]["port"] == one(objects, "Service")["spec"]["ports"][0]["name"]
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= one(objects, "Service")["metadata"]["labels"].items()
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["tenant-c"]}


def test_gpu_tenant_gets_limits_toleration_node_selector_and_gpu_quota():
    spec = TenantSpec.create(
        "gpu-team", gpus=2, gpu_node_selector={"karpenter.k8s.aws/instance-gpu-manufacturer": "nvidia"}
    )
    objects = render_tenant(spec)
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    resources = pod["containers"][0]["resources"]
    assert resources["limits"]["nvidia.com/gpu"] == "2"
    assert resources["requests"]["nvidia.com/gpu"] == "2"
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert pod["nodeSelector"] == {"karpenter.k8s.aws/instance-gpu-manufacturer": "nvidia"}
    assert one(objects, "ResourceQuota")["spec"]["hard"]["requests.nvidia.com/gpu"] == str(2 * 11)
    # Other containers in the namespace (a load generator) must not get a GPU by default.
    [defaults] = one(objects, "LimitRange")["spec"]["limits"]
    assert "nvidia.com/gpu" not in defaults["default"]
    assert "nvidia.com/gpu" not in defaults["defaultRequest"]


def test_cpu_tenant_has_no_gpu_scheduling_constraints(default_objects):
    pod = one(default_objects, "Deployment")["spec"]["template"]["spec"]
    assert "tolerations" not in pod
    assert "nodeSelector" not in pod
    assert "nvidia.com/gpu" not in container(default_objects)["resources"]["limits"]


def test_model_uri_mounts_the_tenant_secret_and_points_the_service_at_its_files():
    spec = TenantSpec.create("tenant-c", model_uri="s3://models/sentiment/v2", model_version="v2")
    objects = render_tenant(spec)
    main = container(objects)
    values = {e["name"]: e.get("value") for e in main["env"]}
    assert values["MODEL_URI"] == "s3://models/sentiment/v2"
    assert values["MODEL_VERSION"] == "v2"
    # No Secret value in the environment: only paths into the read-only Secret volume.
    assert all("valueFrom" not in e for e in main["env"])
    mount = "/var/run/secrets/mlopsctl/model-store"
    keys = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "S3_ENDPOINT_URL", "AWS_REGION")
    assert {k: v for k, v in values.items() if k.endswith("_FILE")} == {f"{k}_FILE": f"{mount}/{k}" for k in keys}
    assert {"name": "model-store-credentials", "mountPath": mount, "readOnly": True} in main["volumeMounts"]
    volumes = {v["name"]: v for v in one(objects, "Deployment")["spec"]["template"]["spec"]["volumes"]}
    secret = volumes["model-store-credentials"]["secret"]
    assert secret == {"secretName": "model-store-credentials", "defaultMode": 0o440}
    # Each key of the Secret `storage install` writes is a file the service reads.
    assert set(keys) == set(constants.MODEL_STORE_SECRET_KEYS)


def test_a_tenant_without_a_model_uri_mounts_no_secret(default_objects):
    main = container(default_objects)
    assert [m["name"] for m in main["volumeMounts"]] == ["tmp"]
    assert not [e for e in main["env"] if e["name"].endswith("_FILE")]


def test_config_hash_moves_with_pod_configuration_only():
    def config_hash(spec: TenantSpec) -> str:
        deployment = one(render_tenant(spec), "Deployment")
        return deployment["spec"]["template"]["metadata"]["annotations"][constants.CONFIG_HASH_ANNOTATION]

    base = TenantSpec.create("tenant-c")
    assert config_hash(base) == config_hash(base.replace(max_replicas=7))
    assert config_hash(base) == config_hash(base.replace(service_monitor=True))
    for change in (
        {"model_uri": "s3://models/sentiment/v2"},
        {"model_version": "v9"},
        {"image": "mlopsctl/inference:0.2.0"},
        {"memory_limit": "1Gi"},
        {"gpus": 1},
    ):
        assert config_hash(base) != config_hash(base.replace(**change)), change


def test_scanner_skips_are_annotated_with_reasons_and_only_where_needed():
    def skips(spec: TenantSpec) -> dict[str, str]:
        annotations = one(render_tenant(spec), "Deployment")["metadata"].get("annotations", {})
        return {k: v for k, v in annotations.items() if k.startswith("checkov.io/skip")}

    local = skips(TenantSpec.create("tenant-c"))
    assert sorted(v.split("=", 1)[0] for v in local.values()) == ["CKV_K8S_15", "CKV_K8S_43"]
    assert all(len(v.split("=", 1)[1]) > 20 for v in local.values())
    pinned = TenantSpec.create("tenant-c", image="registry.example.com/inference@sha256:" + "a" * 64)
    assert skips(pinned) == {}
    # The S3 settings are files from a Secret volume, not Secret-backed variables: no CKV_K8S_35 skip.
    assert skips(pinned.replace(model_uri="s3://models/sentiment/v2")) == {}
    with_store = skips(TenantSpec.create("tenant-c", model_uri="s3://models/sentiment/v2"))
    assert sorted(v.split("=", 1)[0] for v in with_store.values()) == ["CKV_K8S_15", "CKV_K8S_43"]


def test_rendering_is_deterministic():
    spec = TenantSpec.create("tenant-c", gpus=1, service_monitor=True, model_uri="s3://models/x")
    first = render_yaml(render_tenant(spec))
    assert (
        render_yaml(
            render_tenant(TenantSpec.create("tenant-c", gpus=1, service_monitor=True, model_uri="s3://models/x"))
        )
        == first
    )
    assert render_yaml(render_tenant(spec)) == first


def test_render_yaml_is_multi_document_and_parses_back():
    import yaml

    objects = render_tenant(TenantSpec.create("tenant-c"))
    text = render_yaml(objects)
    assert text.startswith("---\n")
    assert text.count("\n---\n") == len(objects) - 1
    assert list(yaml.safe_load_all(text)) == objects
    assert render_yaml([]) == ""


def test_a_tenant_renders_only_its_own_names():
    a = render_yaml(render_tenant(TenantSpec.create("tenant-a")))
    assert "tenant-b" not in a
