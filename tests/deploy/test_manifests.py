"""The project's rules, checked on what kustomize renders for the base and each overlay.

Every rendered object must be valid Kubernetes (strict: unknown fields fail), and the platform's rules must
hold in every environment: probes on the paths ARCHITECTURE rule 9 defines, requests and limits, pinned images,
no secret inline, non-root and read-only containers, an autoscaler and a disruption budget per role, and
network policies under which only the gateway reaches the services.
"""

from __future__ import annotations

import kubernetes_validate
import pytest

from deploy.envfile import secret_names, secret_variables
from deploy.render import Doc, containers, split_image
from gaap.cli.components import COMPONENTS, SERVICES, with_workers
from tests.deploy.conftest import SECRET_LOOKING, Workload, of_kind, workloads
from tests.deploy.policies import NAMESPACE_LABEL, Peer, Policies, in_namespace, outside, selects

#: The oldest Kubernetes the manifests support and the newest the validator knows (kubernetes-validate pin).
KUBERNETES_VERSIONS = ("1.32.0", "1.37.0")


def namespace_of(docs: list[Doc]) -> str:
    return next((d["metadata"]["namespace"] for d in docs if "namespace" in d["metadata"]), "default")


def pod_peer(workload: Workload, namespace: str) -> Peer:
    return Peer(dict(workload.pod["metadata"]["labels"]), {NAMESPACE_LABEL: namespace}, local=True)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_is_valid_kubernetes(docs: list[Doc], version: str) -> None:
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']} against {version}: {exc.message}")


def test_every_role_runs(docs: list[Doc]) -> None:
    """An API Deployment per component, a worker per component with background work, one migration Job."""
    found = workloads(docs)
    assert sorted(w.component for w in found if w.role == "api") == sorted(COMPONENTS)
    assert sorted(w.component for w in found if w.role == "worker") == sorted(with_workers())
    assert [w.doc["kind"] for w in found if w.role == "migrate"] == ["Job"]
    assert all(w.doc["kind"] == "Deployment" for w in found if w.role != "migrate")


def test_long_running_containers_have_probes(docs: list[Doc]) -> None:
    """Readiness on /readyz (dependencies) and liveness on /healthz (checks nothing), on the port the role
    listens on: `--port` for an API, `--probe-port` for a worker (its ProbeServer)."""
    for workload in workloads(docs):
        if workload.role == "migrate":
            continue
        container = workload.containers[0]
        port = int(workload.option("--port" if workload.role == "api" else "--probe-port"))
        named = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            action = container.get(probe, {}).get("httpGet")
            assert action, f"{workload.name}: no {probe}"
            assert action["path"] == path, f"{workload.name}: {probe} asks {action['path']}"
            assert named.get(action["port"], action["port"]) == port, f"{workload.name}: {probe} on the wrong port"


def test_containers_have_requests_and_limits(docs: list[Doc]) -> None:
    for container in containers(docs):
        resources = container.get("resources", {})
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources.get(kind, {})), f"{container['name']}: {kind} incomplete"


def test_one_pinned_image(docs: list[Doc]) -> None:
    """Every role runs the one image, at an exact tag."""
    images = {container["image"] for container in containers(docs)}
    assert len(images) == 1, images
    name, tag = split_image(images.pop())
    assert tag and tag != "latest", f"{name} is not pinned to a tag"


def test_no_secret_inline(docs: list[Doc]) -> None:
    """Secrets are referenced by name; their values never appear in the manifests."""
    secrets = secret_names()
    for doc in of_kind(docs, "Secret"):
        assert not doc.get("data") and not doc.get("stringData"), f"Secret {doc['metadata']['name']} has values"
    for doc in of_kind(docs, "ConfigMap"):
        inline = sorted(k for k in doc.get("data", {}) if k in secrets or SECRET_LOOKING.search(k))
        assert not inline, f"ConfigMap {doc['metadata']['name']} holds secrets: {inline}"
    for container in containers(docs):
        for env in container.get("env", []):
            if env["name"] in secrets or SECRET_LOOKING.search(env["name"]):
                assert "value" not in env, f"{container['name']}: {env['name']} has an inline value"
                assert "secretKeyRef" in env.get("valueFrom", {}), f"{container['name']}: {env['name']}"


def test_config_holds_real_settings(docs: list[Doc], setting_names: frozenset[str]) -> None:
    """A misspelt key in the ConfigMap would be ignored silently by every process (`extra="ignore"`)."""
    for doc in of_kind(docs, "ConfigMap"):
        unknown = sorted(set(doc.get("data", {})) - setting_names)
        assert not unknown, f"ConfigMap {doc['metadata']['name']}: no settings class reads {unknown}"


def test_each_role_reads_its_own_secret(docs: list[Doc]) -> None:
    """A pod gets only its component's Secret; the migration only the database URLs."""
    for workload in workloads(docs):
        container = workload.containers[0]
        refs = [e["secretRef"]["name"] for e in container.get("envFrom", []) if "secretRef" in e]
        keys = {
            (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
            for e in container.get("env", [])
            if "secretKeyRef" in e.get("valueFrom", {})
        }
        if workload.role == "migrate":
            assert not refs
            assert keys == {(f"gaap-{v.component}", v.name) for v in secret_variables() if v.field == "database_url"}
        else:
            assert refs == [f"gaap-{workload.component}"], f"{workload.name}: {refs}"
            assert not keys


def test_containers_are_locked_down(docs: list[Doc]) -> None:
    """Non-root, no privilege escalation, no capabilities, a read-only root with an emptyDir for /tmp."""
    for workload in workloads(docs):
        spec = workload.pod["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True, workload.name
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", workload.name
        assert spec.get("automountServiceAccountToken") is False, workload.name
        empty_dirs = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, container["name"]
            assert context["readOnlyRootFilesystem"] is True, container["name"]
            assert context["capabilities"]["drop"] == ["ALL"], container["name"]
            tmp = [m for m in container.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
            assert tmp and tmp[0]["name"] in empty_dirs, f"{container['name']}: /tmp is not an emptyDir"


def test_api_roles_listen_on_all_interfaces(docs: list[Doc]) -> None:
    for workload in workloads(docs):
        if workload.role == "api":
            assert workload.option("--host") == "0.0.0.0", workload.name


def test_every_role_has_an_autoscaler_and_a_disruption_budget(docs: list[Doc]) -> None:
    """The autoscaler owns the replica count (so the Deployment sets none), and each budget covers exactly the
    pods of its own role."""
    deployments = [w for w in workloads(docs) if w.role != "migrate"]
    for workload in deployments:
        assert "replicas" not in workload.doc["spec"], f"{workload.name}: replicas would fight the autoscaler"
        hpas = [
            h
            for h in of_kind(docs, "HorizontalPodAutoscaler")
            if h["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": workload.name}
        ]
        assert len(hpas) == 1, f"{workload.name}: {len(hpas)} autoscalers"
        assert 1 <= hpas[0]["spec"]["minReplicas"] <= hpas[0]["spec"]["maxReplicas"], workload.name
        covering = [
            p
            for p in of_kind(docs, "PodDisruptionBudget")
            if selects(p["spec"]["selector"], workload.pod["metadata"]["labels"])
        ]
        assert len(covering) == 1, f"{workload.name}: {len(covering)} disruption budgets"
        others = [w for w in deployments if w is not workload]
        assert not any(selects(covering[0]["spec"]["selector"], w.pod["metadata"]["labels"]) for w in others)
    targets = {h["spec"]["scaleTargetRef"]["name"] for h in of_kind(docs, "HorizontalPodAutoscaler")}
    assert targets == {w.name for w in deployments}, "an autoscaler points at nothing"


def test_every_pod_is_isolated(docs: list[Doc]) -> None:
    """Default deny both ways: what the other policies allow is all there is."""
    policies, namespace = Policies(docs), namespace_of(docs)
    for workload in workloads(docs):
        for direction in ("Ingress", "Egress"):
            assert policies.isolated(pod_peer(workload, namespace), direction), f"{workload.name}: {direction}"


def test_only_the_gateway_reaches_the_services(docs: list[Doc]) -> None:
    policies, namespace = Policies(docs), namespace_of(docs)
    found = workloads(docs)
    strangers = [
        outside(),
        in_namespace("ingress-nginx"),
        in_namespace("other", {"app.kubernetes.io/component": "gateway"}),
    ]
    for service in (w for w in found if w.role == "api" and w.component in SERVICES):
        port = int(service.option("--port"))
        destination = pod_peer(service, namespace)
        for source in found:
            allowed = policies.allowed(pod_peer(source, namespace), destination, port)
            assert allowed == (source.component == "gateway"), f"{source.name} -> {service.name}: {allowed}"
        for stranger in strangers:
            assert not policies.allowed(stranger, destination, port), f"{stranger} reaches {service.name}"


def test_the_gateway_is_reachable_from_the_ingress_controller(docs: list[Doc]) -> None:
    policies, namespace = Policies(docs), namespace_of(docs)
    for gateway in (w for w in workloads(docs) if w.role == "api" and w.component == "gateway"):
        controller = in_namespace("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"})
        assert policies.allowed(controller, pod_peer(gateway, namespace), int(gateway.option("--port")))


def test_nothing_reaches_a_worker(docs: list[Doc]) -> None:
    """Workers serve only probes, which the kubelet sends outside network policy."""
    policies, namespace = Policies(docs), namespace_of(docs)
    found = workloads(docs)
    for worker in (w for w in found if w.role == "worker"):
        port = int(worker.option("--probe-port"))
        for source in [*(pod_peer(w, namespace) for w in found), outside(), in_namespace("monitoring")]:
            assert not policies.allowed(source, pod_peer(worker, namespace), port), f"{source} -> {worker.name}"


def test_postgres_and_redis_only_as_needed(docs: list[Doc]) -> None:
    """Every role reaches PostgreSQL; Redis only the roles that queue or limit (not the migration); no role may
    open an arbitrary port."""
    policies, namespace = Policies(docs), namespace_of(docs)
    for workload in workloads(docs):
        pod = pod_peer(workload, namespace)
        assert policies.allowed(pod, outside(), 5432), f"{workload.name}: no PostgreSQL"
        assert policies.allowed(pod, outside(), 6379) == (workload.role != "migrate"), f"{workload.name}: Redis"
        assert not policies.allowed(pod, outside(), 12345), f"{workload.name}: egress is open"
