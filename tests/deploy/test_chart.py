"""The Helm chart, the Dockerfiles and skaffold.yaml, as an operator would read them.

The chart is rendered with the real helm (built into .cache/bin by scripts/check_deploy.sh, which
these tests call when it is missing and Go is installed). Without helm the tests are skipped,
unless LIANDIAO_REQUIRE_HELM=1 (CI), where a missing tool fails them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "liandiao"
HELM = ROOT / ".cache" / "bin" / "helm"
REQUIRED = os.environ.get("LIANDIAO_REQUIRE_HELM") == "1"

SERVICES = ["confirmation", "intake", "mediation", "notification", "personnel", "routing"]
REGION_SERVICES = ["intake", "mediation", "notification", "routing"]
# The event contract as DESIGN.md and the services' code state it, written out here on purpose
# rather than read from the chart, so that a chart that loses an event fails.
EVENTS = {
    "intake": ["dispute-registered", "risk-flagged"],
    "personnel": ["roster-changed", "person-changed"],
    "routing": ["dispute-assigned", "dispute-escalated", "assignment-expired"],
    "mediation": ["session-scheduled", "agreement-effective", "mediation-failed", "case-returned-to-court",
                  "expiry-reminder-due", "false-mediation-reported"],
    "confirmation": ["application-filed", "application-accepted", "application-refused", "ruling-issued"],
    "notification": ["delivery-succeeded", "delivery-failed"],
}
def _apps() -> dict:
    """Each service's ServiceApp, as its main module wires it."""
    import importlib

    names = ("intake", "personnel", "routing", "mediation", "confirmation", "notification")
    return {svc: importlib.import_module(f"services.{svc}.main").app for svc in names}


APPS = _apps()
# Every consumer the services register (ServiceApp.consume), from the code itself.
CONSUMES = {name: list(events) for app in APPS.values() for name, events in app.consumers.items()}
Objects = list[dict]


def _missing(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason} (LIANDIAO_REQUIRE_HELM=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def helm() -> Path:
    if not HELM.exists() and shutil.which("go"):
        subprocess.run(["bash", str(ROOT / "scripts" / "check_deploy.sh"), "--install-helm"], check=False)
    if not HELM.exists():
        _missing(f"helm is not at {HELM} and could not be built (needs Go): run scripts/check_deploy.sh")
    return HELM


# The provincial identity provider's issuer has no default: the chart refuses to render
# a production release without it (test_production_needs_the_identity_provider).
ISSUER = ("--set", "identity.issuer=https://idp.test.invalid/realms/liandiao")


@pytest.fixture(scope="session")
def render(helm: Path) -> Callable[..., Objects]:
    cache: dict[tuple[str, ...], Objects] = {}

    def _render(release: str = "liandiao", *args: str) -> Objects:
        key = (release, *args)
        if key not in cache:
            done = subprocess.run(
                [str(helm), "template", release, str(CHART), "--namespace", "liandiao", *ISSUER, *args],
                capture_output=True,
                text=True,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            cache[key] = [d for d in yaml.safe_load_all(done.stdout) if d]
        return cache[key]

    return _render


@pytest.fixture(scope="session")
def default(render) -> Objects:
    return render("liandiao")


@pytest.fixture(scope="session")
def province(render) -> Objects:
    return render("liandiao", "-f", str(CHART / "values-province.yaml"))


@pytest.fixture(scope="session")
def region(render) -> Objects:
    return render("liandiao-1505", "-f", str(CHART / "values-region-1505.yaml"))


def of_kind(objects: Objects, kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def deployments(objects: Objects) -> dict[str, dict]:
    """Deployments by service (the app.kubernetes.io/component label)."""
    return {d["metadata"]["labels"]["app.kubernetes.io/component"]: d for d in of_kind(objects, "Deployment").values()}


def env_of(container: dict) -> dict[str, str | None]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def all_containers(deployment: dict) -> list[dict]:
    spec = deployment["spec"]["template"]["spec"]
    return spec.get("initContainers", []) + spec["containers"]


def service_folders() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "services").glob("*/Dockerfile"))


# --- what each service gets --------------------------------------------------------------------


def test_the_six_services_have_their_folders_and_chart_blocks():
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert service_folders() == SERVICES
    assert sorted(values["services"]) == SERVICES


@pytest.mark.parametrize(
    "kind",
    ["Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "ServiceAccount"],
)
def test_every_service_has_its_objects(default, kind):
    names = sorted(of_kind(default, kind))
    assert names == [f"liandiao-{s}" for s in SERVICES]
    for obj in of_kind(default, kind).values():
        assert obj["metadata"]["labels"]["app.kubernetes.io/component"] in SERVICES


def test_hpa_scales_its_own_deployment_on_cpu(default):
    for name, hpa in of_kind(default, "HorizontalPodAutoscaler").items():
        spec = hpa["spec"]
        assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert 1 <= spec["minReplicas"] <= spec["maxReplicas"]
        assert spec["metrics"][0]["resource"]["name"] == "cpu"
    # The HPA owns the replica count: a fixed one in the Deployment would fight it on every upgrade.
    assert all("replicas" not in d["spec"] for d in of_kind(default, "Deployment").values())


def test_probes_are_grpc_health_checks_on_the_plain_text_health_port(default):
    from liandiao.rpc.server import LIVENESS

    for svc, dep in deployments(default).items():
        (container,) = dep["spec"]["template"]["spec"]["containers"]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert set(container[probe]) - {"periodSeconds", "failureThreshold"} == {"grpc"}, (svc, probe)
            # The kubelet's gRPC probe cannot speak TLS: it asks the health-only port.
            assert container[probe]["grpc"]["port"] == 8081, (svc, probe)
        # Readiness follows the dependencies; liveness only whether the process answers, so a
        # database outage takes pods out of the Service without restarting them (issue 6).
        assert "service" not in container["readinessProbe"]["grpc"], svc
        assert container["livenessProbe"]["grpc"]["service"] == LIVENESS, svc
        assert container["startupProbe"]["grpc"]["service"] == LIVENESS, svc
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"grpc": 50051, "metrics": 9464, "health": 8081}
        assert env_of(container)["LIANDIAO_HEALTH_PORT"] == "8081"
        assert env_of(container)["LIANDIAO_GRPC_PORT"] == "50051"
        assert env_of(container)["LIANDIAO_METRICS_PORT"] == "9464"


def test_service_exposes_grpc_and_metrics(default):
    for name, svc in of_kind(default, "Service").items():
        ports = {p["name"]: (p["port"], p["targetPort"]) for p in svc["spec"]["ports"]}
        assert ports == {"grpc": (50051, "grpc"), "http-metrics": (9464, "metrics")}, name
        dep = of_kind(default, "Deployment")[name]
        pod_labels = dep["spec"]["template"]["metadata"]["labels"]
        assert svc["spec"]["selector"].items() <= pod_labels.items(), name


def test_migrations_run_before_the_server_from_the_same_image(default):
    for svc, dep in deployments(default).items():
        spec = dep["spec"]["template"]["spec"]
        (init,) = spec["initContainers"]
        (main,) = spec["containers"]
        assert init["command"] == ["python", "-m", f"services.{svc}", "migrate"]
        assert main["command"] == ["python", "-m", f"services.{svc}"]
        assert init["image"] == main["image"] == f"liandiao-{svc}:0.1.0"
        assert env_of(init) == env_of(main)


def test_secrets_come_from_existing_secrets_never_from_values(default):
    for svc, dep in deployments(default).items():
        for container in all_containers(dep):
            refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]
                    if "secretKeyRef" in e.get("valueFrom", {})}
            assert set(refs) == {"LIANDIAO_DATABASE_URL", "LIANDIAO_PII_KEY", "LIANDIAO_FINGERPRINT_KEY",
                                 "LIANDIAO_KAFKA_SASL_PASSWORD"}, svc
            assert refs["LIANDIAO_DATABASE_URL"]["name"] == "liandiao-database"
            assert refs["LIANDIAO_KAFKA_SASL_PASSWORD"] == {"name": f"liandiao-{svc}", "key": "password"}
            assert env_of(container)["LIANDIAO_ENV"] == "production"


def test_pods_drain_calls_before_they_stop(default):
    for svc, dep in deployments(default).items():
        spec = dep["spec"]["template"]["spec"]
        drain_ms = int(env_of(spec["containers"][0])["LIANDIAO_SHUTDOWN_DRAIN_MS"])
        assert drain_ms >= 1000, svc
        # The drain plus the server's own 5 s grace must end before Kubernetes kills the pod.
        assert spec["terminationGracePeriodSeconds"] >= drain_ms / 1000 + 5 + 5, svc


def test_pods_run_as_non_root_with_a_read_only_root(default):
    for svc, dep in deployments(default).items():
        spec = dep["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["automountServiceAccountToken"] is False
        assert spec["serviceAccountName"] == f"liandiao-{svc}"
        for container in all_containers(dep):
            ctx = container["securityContext"]
            assert ctx["readOnlyRootFilesystem"] is True and ctx["allowPrivilegeEscalation"] is False


def test_network_policy_admits_grpc_and_metrics_and_lets_out_only_what_is_needed(default):
    for name, policy in of_kind(default, "NetworkPolicy").items():
        spec = policy["spec"]
        assert sorted(spec["policyTypes"]) == ["Egress", "Ingress"]
        pod_labels = of_kind(default, "Deployment")[name]["spec"]["template"]["metadata"]["labels"]
        assert spec["podSelector"]["matchLabels"].items() <= pod_labels.items()
        ingress = {tuple(p["port"] for p in rule["ports"]): rule["from"] for rule in spec["ingress"]}
        assert set(ingress) == {(50051,), (9464,)}
        assert {"podSelector": {}} in ingress[(50051,)]
        assert ingress[(9464,)] == [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
        ]
        egress_ports = {p["port"] for rule in spec["egress"] for p in rule["ports"]}
        assert egress_ports == {53, 5432, 9092, 9093, 50051}, name


def test_service_monitors_only_when_switched_on(render, default):
    assert of_kind(default, "ServiceMonitor") == {}
    monitors = of_kind(render("liandiao", "--set", "serviceMonitors.create=true"), "ServiceMonitor")
    assert sorted(monitors) == [f"liandiao-{s}" for s in SERVICES]
    for monitor in monitors.values():
        assert monitor["spec"]["endpoints"][0]["port"] == "http-metrics"


def test_the_concurrency_limit_reaches_every_service(render):
    for svc, dep in deployments(render("liandiao", "--set", "grpcMaxConcurrentRpcs=12")).items():
        (container,) = dep["spec"]["template"]["spec"]["containers"]
        assert env_of(container)["LIANDIAO_GRPC_MAX_CONCURRENT_RPCS"] == "12", svc


def test_production_needs_the_identity_provider_and_mounts_its_public_keys(helm, default):
    done = subprocess.run([str(helm), "template", "liandiao", str(CHART)], capture_output=True, text=True,
                          check=False)
    assert done.returncode != 0 and "identity.issuer" in done.stderr
    for svc, dep in deployments(default).items():
        spec = dep["spec"]["template"]["spec"]
        (volume,) = [v for v in spec["volumes"] if v["name"] == "identity"]
        assert volume["secret"]["secretName"] == "liandiao-jwks"
        for container in spec.get("initContainers", []) + spec["containers"]:
            env = env_of(container)
            assert env["LIANDIAO_JWKS_FILE"] == "/etc/liandiao/identity/jwks.json", svc
            assert env["LIANDIAO_TOKEN_ISSUER"] == "https://idp.test.invalid/realms/liandiao"
            assert "LIANDIAO_AUTH_SECRET" not in env     # no shared signing secret any more
            assert {"name": "identity", "mountPath": "/etc/liandiao/identity", "readOnly": True} \
                in container["volumeMounts"]


def test_transport_certificates_and_credentials_are_mounted_from_secrets(default):
    for svc, dep in deployments(default).items():
        spec = dep["spec"]["template"]["spec"]
        volumes = {v["name"]: v["secret"] for v in spec["volumes"] if "secret" in v}
        assert volumes["tls"]["secretName"] == f"liandiao-{svc}-tls"
        assert {i["key"] for i in volumes["tls"]["items"]} == {"tls.crt", "tls.key", "ca.crt"}
        assert volumes["kafka-ca"]["secretName"] == "liandiao-cluster-ca-cert"
        assert volumes["database-ca"]["secretName"] == "liandiao-database-ca"
        for container in all_containers(dep):
            env = env_of(container)
            assert env["LIANDIAO_TLS_CERT_FILE"] == "/etc/liandiao/tls/tls.crt", svc
            assert env["LIANDIAO_TLS_CLIENT_CA_FILE"] == "/etc/liandiao/tls/ca.crt", svc   # mutual TLS
            assert env["LIANDIAO_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
            assert env["LIANDIAO_KAFKA_SASL_USERNAME"] == f"liandiao-{svc}"
            assert env["LIANDIAO_KAFKA_CA_FILE"] == "/etc/liandiao/kafka/ca.crt"
            assert (env["PGSSLMODE"], env["PGSSLROOTCERT"]) == ("verify-full", "/etc/liandiao/database/ca.crt")
            # Bound to the pod's address (downward API), not every interface.
            hosts = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in container["env"]
                     if "fieldRef" in e.get("valueFrom", {})}
            assert hosts == {"LIANDIAO_GRPC_HOST": "status.podIP", "LIANDIAO_METRICS_HOST": "status.podIP"}
            mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
            assert (mounts["tls"], mounts["kafka-ca"], mounts["database-ca"]) == \
                ("/etc/liandiao/tls", "/etc/liandiao/kafka", "/etc/liandiao/database")


@pytest.mark.parametrize("args, named", [
    (("--set", "tls.enabled=false"), "tls.enabled and tls.secretName"),
    (("--set", "tls.secretName="), "tls.enabled and tls.secretName"),
    (("--set", "kafka.security.protocol=PLAINTEXT"), "kafka.security.protocol"),
    (("--set", "kafka.security.caSecret="), "kafka.security.caSecret"),
    (("--set", "kafka.security.sasl.existingSecret="), "kafka.security.sasl.username and existingSecret"),
    (("--set", "database.tls.sslmode=require"), "database.tls.sslmode"),
    (("--set", "database.tls.caSecret="), "database.tls.caSecret"),
])
def test_production_does_not_render_without_transport_security(helm, args, named):
    done = subprocess.run([str(helm), "template", "liandiao", str(CHART), *ISSUER, *args], capture_output=True,
                          text=True, check=False)
    assert done.returncode != 0 and named in done.stderr, done.stderr


def test_development_may_run_in_plain_text_with_probes_on_the_grpc_port(render):
    objects = render("liandiao", "--set", "environment=development", "--set", "tls.enabled=false",
                     "--set", "kafka.security.protocol=PLAINTEXT", "--set", "database.tls.sslmode=disable")
    for svc, dep in deployments(objects).items():
        (container,) = dep["spec"]["template"]["spec"]["containers"]
        env = env_of(container)
        assert "LIANDIAO_TLS_CERT_FILE" not in env and "PGSSLMODE" not in env, svc
        assert container["readinessProbe"]["grpc"]["port"] == 50051


def test_only_confirmation_mounts_the_courts_signing_keys(default):
    for svc, dep in deployments(default).items():
        spec = dep["spec"]["template"]["spec"]
        volumes = [v for v in spec["volumes"] if v["name"] == "court-keys"]
        for container in all_containers(dep):
            env, mounted = env_of(container), [m for m in container["volumeMounts"] if m["name"] == "court-keys"]
            if svc == "confirmation":
                assert env["LIANDIAO_CONFIRMATION_KEYS_FILE"] == "/etc/liandiao/court-keys/keys.json"
                assert mounted == [{"name": "court-keys", "mountPath": "/etc/liandiao/court-keys", "readOnly": True}]
            else:
                assert "LIANDIAO_CONFIRMATION_KEYS_FILE" not in env and not mounted, svc
        assert [v["secret"]["secretName"] for v in volumes] == (["liandiao-court-keys"] if svc == "confirmation"
                                                                  else []), svc


def test_alert_rules_only_when_switched_on_and_about_our_own_metrics(render, default):
    from liandiao import telemetry

    assert of_kind(default, "PrometheusRule") == {}
    (rules,) = of_kind(render("liandiao", "--set", "prometheusRules.create=true"), "PrometheusRule").values()
    alerts = {r["alert"]: r["expr"] for g in rules["spec"]["groups"] for r in g["rules"]}
    assert {"LiandiaoOutboxEventParked", "LiandiaoOutboxNotDraining", "LiandiaoBackgroundTaskDown",
            "LiandiaoConsumerLagHigh", "LiandiaoEventsDeadLettered"} <= set(alerts)
    ours = {m._name for m in (telemetry.OUTBOX_PARKED, telemetry.OUTBOX_OLDEST_SECONDS, telemetry.TASK_UP,
                              telemetry.CONSUMER_LAG)} | {"liandiao_events_consumed_total"}
    for name in ours:   # an alert on a metric nobody exports would never fire
        assert any(name in expr for expr in alerts.values()), name
    assert 'job=~"liandiao-.*"' in alerts["LiandiaoOutboxEventParked"]


def test_otlp_endpoint_reaches_the_services_and_opens_egress(render):
    objects = render("liandiao", "--set", "otlp.endpoint=http://otel-collector.observability:4317")
    for dep in of_kind(objects, "Deployment").values():
        assert (
            env_of(dep["spec"]["template"]["spec"]["containers"][0])["LIANDIAO_OTLP_ENDPOINT"]
            == "http://otel-collector.observability:4317"
        )
    for policy in of_kind(objects, "NetworkPolicy").values():
        assert 4317 in {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}


def test_operator_calendar_is_mounted_and_rolls_the_pods(render, tmp_path):
    calendar = tmp_path / "cal.json"
    calendar.write_text('{"format": 1, "years": {"2027": {}}}')
    objects = render("liandiao", "--set-file", f"holidayCalendar.file={calendar}")
    (configmap,) = of_kind(objects, "ConfigMap").values()
    assert configmap["data"]["calendar.json"] == calendar.read_text()
    for dep in of_kind(objects, "Deployment").values():
        pod = dep["spec"]["template"]
        assert "checksum/calendar" in pod["metadata"]["annotations"]
        main = pod["spec"]["containers"][0]
        path = env_of(main)["LIANDIAO_CALENDAR_FILE"]
        mount = next(m for m in main["volumeMounts"] if m["name"] == "calendar")
        assert path == f"{mount['mountPath']}/calendar.json"


# --- regions -----------------------------------------------------------------------------------


def test_region_release_runs_the_region_heavy_services_on_1505_only(region):
    deps = deployments(region)
    assert sorted(deps) == REGION_SERVICES
    for svc, dep in deps.items():
        for container in all_containers(dep):
            env = env_of(container)
            assert env["LIANDIAO_PREFECTURES"] == "1505", svc
            assert env["LIANDIAO_EXCLUDE_PREFECTURES"] == "", svc
            assert env["LIANDIAO_RELEASE"] == "liandiao-1505", svc


def test_province_release_leaves_1505_to_the_region(province, region):
    deps = deployments(province)
    assert sorted(deps) == SERVICES
    for svc, dep in deps.items():
        for container in all_containers(dep):
            env = env_of(container)
            assert env["LIANDIAO_EXCLUDE_PREFECTURES"] == "1505", svc
            assert env["LIANDIAO_PREFECTURES"] == "", svc
            assert env["LIANDIAO_RELEASE"] == "liandiao", svc
    # Consumer groups are named after the release: the two must differ or they would share work.
    region_release = env_of(deployments(region)["routing"]["spec"]["template"]["spec"]["containers"][0])
    assert region_release["LIANDIAO_RELEASE"] != env["LIANDIAO_RELEASE"]


def test_province_and_region_releases_share_a_namespace_without_clashing(province, region):
    names = lambda objects: {(o["kind"], o["metadata"]["name"]) for o in objects}  # noqa: E731
    assert names(province) & names(region) == set()
    # A province Service must not send calls to the region's pods, nor the other way round.
    for svc in REGION_SERVICES:
        p_sel = of_kind(province, "Service")[f"liandiao-{svc}"]["spec"]["selector"]
        r_pod = of_kind(region, "Deployment")[f"liandiao-1505-{svc}"]["spec"]["template"]["metadata"]["labels"]
        assert not p_sel.items() <= r_pod.items(), svc


def test_a_release_cannot_both_serve_and_exclude_prefectures(helm):
    done = subprocess.run(
        [
            str(helm),
            "template",
            "x",
            str(CHART),
            "--set-json",
            'prefectures=["1505"]',
            "--set-json",
            'excludePrefectures=["1502"]',
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "not both" in done.stderr


def test_a_mistyped_prefecture_fails_the_render(helm):
    done = subprocess.run(
        [str(helm), "template", "x", str(CHART), "--set-json", 'prefectures=["1550"]'],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert '"1550" is not in province.prefectures' in done.stderr


def test_values_schema_rejects_a_mistyped_key(helm):
    done = subprocess.run(
        [str(helm), "lint", str(CHART), *ISSUER, "--set", "services.intake.replicaz=3"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "replicaz" in done.stdout + done.stderr


# --- Kafka topics ------------------------------------------------------------------------------


def test_kafka_topics_exist_for_every_event_of_1505_and_the_province_shard(province):
    topics = of_kind(province, "KafkaTopic")
    for shard in ("1505", "00"):
        for service, events in EVENTS.items():
            for event in events:
                name = f"liandiao.{service}.{event}.v1.{shard}"
                assert name in topics, name
                topic = topics[name]
                assert topic["spec"]["topicName"] == name
                assert topic["spec"]["partitions"] == 6 and topic["spec"]["replicas"] == 3
                assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "liandiao"
                # Uninstalling the release must not delete the events.
                assert topic["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_every_consumer_has_a_dead_letter_topic_per_shard(province):
    topics = of_kind(province, "KafkaTopic")
    for consumer, sources in CONSUMES.items():
        for source in sources:
            assert f"liandiao.{source}.v1.1505.dlq.{consumer}" in topics
    dead_letter = [t for t in topics if ".dlq." in t]
    assert len(dead_letter) == sum(map(len, CONSUMES.values())) * 13  # 12 prefectures + "00"


def test_event_topics_are_every_event_times_every_shard(province):
    events = [t for t in of_kind(province, "KafkaTopic") if ".dlq." not in t]
    assert len(events) == sum(map(len, EVENTS.values())) * 13


def test_region_release_leaves_the_topics_to_the_province_release(region):
    assert of_kind(region, "KafkaTopic") == {}


def test_chart_producers_match_what_each_service_declares_it_publishes():
    chart = yaml.safe_load((CHART / "files" / "events.yaml").read_text())
    declared = {svc: sorted(e.name for e in app.publishes) for svc, app in APPS.items()}
    assert {svc: sorted(events) for svc, events in chart["producers"].items()} == declared


def test_chart_consumers_match_the_services_registrations():
    chart = yaml.safe_load((CHART / "files" / "events.yaml").read_text())
    assert {k: sorted(v) for k, v in chart["consumers"].items()} == {k: sorted(v) for k, v in CONSUMES.items()}


def test_chart_events_match_the_code_catalogue():
    catalogue = ROOT / "libs" / "liandiao" / "events" / "catalog.py"
    if not catalogue.exists():
        pytest.skip("libs/liandiao/events/catalog.py is not there yet")
    in_code = set(re.findall(r'EventType\("([a-z]+)", "([a-z-]+)"', catalogue.read_text()))
    chart = yaml.safe_load((CHART / "files" / "events.yaml").read_text())
    in_chart = {(svc, event) for svc, events in chart["producers"].items() for event in events}
    assert in_chart == in_code


# --- images, Dockerfiles and skaffold ----------------------------------------------------------


def test_an_image_set_by_skaffold_runs_in_both_containers(render):
    image = "registry.example/liandiao-intake:abc123@sha256:" + "0" * 64
    dep = deployments(render("liandiao", "--set", f"services.intake.image={image}"))["intake"]
    assert {c["image"] for c in all_containers(dep)} == {image}


def test_skaffold_artifacts_are_the_service_folders():
    config = yaml.safe_load((ROOT / "skaffold.yaml").read_text())
    assert config["apiVersion"].startswith("skaffold/v4") and config["kind"] == "Config"
    base, *artifacts = config["build"]["artifacts"]
    assert base == {"image": "liandiao-base", "context": ".", "docker": {"dockerfile": "libs/Dockerfile"}}
    assert sorted(a["image"] for a in artifacts) == [f"liandiao-{s}" for s in service_folders()]
    for a in artifacts:
        svc = a["image"].removeprefix("liandiao-")
        assert a["context"] == "."
        assert a["docker"]["dockerfile"] == f"services/{svc}/Dockerfile"
        assert (ROOT / a["docker"]["dockerfile"]).is_file()
        assert a["requires"] == [{"image": "liandiao-base", "alias": "BASE"}]


HELM_RELEASE_KEYS = {  # skaffold/v4beta11 HelmRelease: a mistyped key is ignored by nobody
    "name",
    "chartPath",
    "remoteChart",
    "valuesFiles",
    "namespace",
    "version",
    "setValues",
    "setValueTemplates",
    "setFiles",
    "createNamespace",
    "wait",
    "recreatePods",
    "skipBuildDependencies",
    "skipTests",
    "useHelmSecrets",
    "repo",
    "upgradeOnChange",
    "overrides",
    "packaged",
}


def test_every_skaffold_release_deploys_every_built_image():
    config = yaml.safe_load((ROOT / "skaffold.yaml").read_text())
    releases = [("default", r) for r in config["deploy"]["helm"]["releases"]]
    releases += [(p["name"], r) for p in config.get("profiles", []) for r in p["deploy"]["helm"]["releases"]]
    assert {p for p, _ in releases} == {"default", "region-1505"}
    want = {f"services.{s}.image": "{{.IMAGE_FULLY_QUALIFIED_liandiao_" + s + "}}" for s in service_folders()}
    for profile, rel in releases:
        assert set(rel) <= HELM_RELEASE_KEYS, (profile, set(rel) - HELM_RELEASE_KEYS)
        assert rel["setValueTemplates"] == want, (profile, rel["name"])
        assert (ROOT / rel["chartPath"]) == CHART
        for values in rel.get("valuesFiles", []):
            assert (ROOT / values).is_file(), values
    region = [r for p, r in releases if p == "region-1505"]
    assert [(r["name"], r["valuesFiles"]) for r in region] == [
        ("liandiao", ["charts/liandiao/values-province.yaml"]),
        ("liandiao-1505", ["charts/liandiao/values-region-1505.yaml"]),
    ]


def test_base_image_generates_the_stubs_and_runs_as_a_non_root_user():
    text = (ROOT / "libs" / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", text, re.M)
    assert len(stages) == 2 and all(s == "${PYTHON_IMAGE}" for s in stages)
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text
    assert "python -m grpc_tools.protoc -I protos --python_out=libs --grpc_python_out=libs --pyi_out=libs" in text
    assert "PYTHONPATH=/app/libs:/app" in text
    assert re.search(r"^USER 10001", text, re.M)
    assert not re.search(r"^COPY services/[a-z]+/", text, re.M)  # no service's code in the base


@pytest.mark.parametrize("svc", SERVICES)
def test_service_image_is_the_base_plus_its_own_package(svc):
    text = (ROOT / "services" / svc / "Dockerfile").read_text()
    assert re.findall(r"^FROM (\S+)", text, re.M) == ["${BASE}"]
    assert f"COPY services/{svc}/ services/{svc}/" in text
    assert not re.search(r"^USER ", text, re.M)  # inherits the base's non-root user
    assert re.search(rf'^ENTRYPOINT \["python", "-m", "services\.{svc}"\]$', text, re.M)
    # Only this service's code goes into its image.
    others = [o for o in SERVICES if o != svc and f"services/{o}" in text]
    assert others == []


# --- manifests against the Kubernetes API schemas ---------------------------------------------


def test_rendered_manifests_are_valid_kubernetes(default, region, render):
    try:
        import kubernetes_validate.utils as kv
    except ImportError:
        _missing("kubernetes-validate is not installed (pip install -r requirements.txt)")
    switched = render(
        "liandiao",
        "--set",
        "serviceMonitors.create=true",
        "--set",
        "prometheusRules.create=true",
        "--set",
        "autoscaling.enabled=false",
        "--set",
        "otlp.endpoint=http://otel:4317",
    )
    problems = []
    for objects in (default, region, switched):
        for obj in objects:
            if obj["kind"] in {"KafkaTopic", "ServiceMonitor", "PrometheusRule"}:  # CRDs: no bundled schema
                continue
            for version in ("1.27.0", "1.37.0"):
                try:
                    kv.validate(obj, version, strict=True)
                except (kv.ValidationError, kv.SchemaNotFoundError) as exc:
                    problems.append(f"{obj['kind']}/{obj['metadata']['name']} @{version}: {exc.message}")
    assert problems == []
