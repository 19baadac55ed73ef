"""deploy/kubernetes: valid against the Kubernetes schemas (kubernetes-validate), and consistent with
the gateway: its config loads, every secret it references is provided by the Deployment from the
Secret, probes hit the health endpoints, and termination leaves the gateway its drain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from mobius.cli import _refuse_inline_secrets, _secret_refs
from mobius.settings import load_settings

MANIFESTS = Path(__file__).parents[2] / "deploy" / "kubernetes"
KUBERNETES = "1.30"


def documents() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            found[f"{document['kind']}/{document['metadata']['name']}"] = document
    return found


MANIFEST_NAMES = sorted(documents())


@pytest.mark.parametrize("name", MANIFEST_NAMES)
def test_each_manifest_is_valid_against_the_kubernetes_schemas(name: str) -> None:
    kubernetes_validate.validate(documents()[name], KUBERNETES, strict=True)


def test_every_part_of_a_deployment_is_there() -> None:
    assert set(MANIFEST_NAMES) == {
        "ConfigMap/mobius-config",
        "Deployment/mobius-gateway",
        "HorizontalPodAutoscaler/mobius-gateway",
        "PodDisruptionBudget/mobius-gateway",
        "Secret/mobius-credentials",
        "Service/mobius-gateway",
    }


def container() -> dict[str, Any]:
    pod = documents()["Deployment/mobius-gateway"]["spec"]["template"]["spec"]
    gateway: dict[str, Any] = pod["containers"][0]
    return gateway


def config(tmp_path: Path) -> tuple[Any, dict[str, Any]]:
    text = documents()["ConfigMap/mobius-config"]["data"]["mobius.yaml"]
    path = tmp_path / "mobius.yaml"
    path.write_text(text)
    return load_settings(path), yaml.safe_load(text)


def test_the_config_map_is_a_production_config_the_gateway_accepts(tmp_path: Path) -> None:
    settings, _ = config(tmp_path)
    assert settings.environment == "production"
    _refuse_inline_secrets(settings)  # raises on a secret written in the file


def test_every_secret_the_config_references_comes_from_the_secret(tmp_path: Path) -> None:
    settings, _ = config(tmp_path)
    pod = documents()["Deployment/mobius-gateway"]["spec"]["template"]["spec"]
    secret_keys = set(documents()["Secret/mobius-credentials"]["stringData"])
    env = {item["name"]: item.get("valueFrom", {}) for item in container()["env"]}
    secret_volumes = {volume["name"]: volume["secret"] for volume in pod["volumes"] if "secret" in volume}
    mounted = {}
    for mount in container()["volumeMounts"]:
        if mount["name"] in secret_volumes:
            for item in secret_volumes[mount["name"]]["items"]:
                mounted[f"{mount['mountPath']}/{item['path']}"] = item["key"]

    refs = _secret_refs(settings.model_dump(), "")
    assert refs, "the config references its secrets"
    for where, ref in refs:
        if ref["env"] is not None:
            source = env.get(ref["env"], {}).get("secretKeyRef")
            assert source is not None, f"{where}: ${ref['env']} is not set from the Secret"
            assert (source["name"], source["key"] in secret_keys) == ("mobius-credentials", True)
        else:
            assert ref["file"] is not None
            assert mounted.get(str(ref["file"])) in secret_keys, (
                f"{where}: {ref['file']} is not mounted from the Secret"
            )
    assert mounted[str(settings.redis.tls.ca_file)] in secret_keys


def test_probes_hit_the_health_endpoints_and_termination_covers_the_drain(tmp_path: Path) -> None:
    settings, _ = config(tmp_path)
    gateway = container()
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert gateway["livenessProbe"]["httpGet"]["path"] == "/health/live"
    pre_stop_s = float(gateway["lifecycle"]["preStop"]["exec"]["command"][-1])
    grace_s = documents()["Deployment/mobius-gateway"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace_s >= pre_stop_s + settings.server.drain_s + 1
    assert {"name": "MOBIUS_INSTANCE__NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}} in gateway[
        "env"
    ]


def test_the_autoscaler_and_the_budget_point_at_the_deployment() -> None:
    found = documents()
    labels = found["Deployment/mobius-gateway"]["spec"]["selector"]["matchLabels"]
    assert found["PodDisruptionBudget/mobius-gateway"]["spec"]["selector"]["matchLabels"] == labels
    assert found["Service/mobius-gateway"]["spec"]["selector"] == labels
    target = found["HorizontalPodAutoscaler/mobius-gateway"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "mobius-gateway")
    assert found["HorizontalPodAutoscaler/mobius-gateway"]["spec"]["minReplicas"] >= 2


def test_the_schemas_refuse_a_misspelt_field() -> None:
    deployment = documents()["Deployment/mobius-gateway"]
    misspelt = {**deployment, "spec": {**deployment["spec"], "replica": 3}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, KUBERNETES, strict=True)
