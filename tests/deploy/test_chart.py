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

SERVICES = ["confirmation", "intake", "mediation", "notification", "personnel", "routing", "statistics"]
REGION_SERVICES = ["intake", "mediation", "notification", "routing"]
# Read models that consume every prefecture whatever the release excludes (values provinceWide).
PROVINCE_WIDE = {"personnel", "confirmation", "statistics"}   # region releases run none of them
# The event contract as DESIGN.md and the services' code state it, written out here on purpose
# rather than read from the chart, so that a chart that loses an event fails.
EVENTS = {
    "intake": ["dispute-registered", "risk-flagged", "warning-acknowledged"],
    "personnel": ["roster-changed", "person-changed"],
    "routing": ["dispute-assigned", "dispute-escalated", "assignment-expired"],
    "mediation": ["session-scheduled", "agreement-effective", "mediation-failed", "case-returned-to-court",
                  "expiry-reminder-due", "false-mediation-reported", "signing-code-issued", "session-cancelled"],
    "confirmation": ["application-filed", "application-accepted", "application-refused", "ruling-issued",
                     "court-deadline-reminder", "supplement-deadline-reminder", "application-withdrawn",
                     "objection-filed"],
    "notification": ["delivery-succeeded", "delivery-failed"],
}
def _apps() -> dict:
    """Each service's ServiceApp, as its main module wires it."""
    import importlib

    names = ("intake", "personnel", "routing", "mediation", "confirmation", "notification", "statistics")
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
IDENTITY = ("--set", "identity.issuer=https://idp.test.invalid/realms/liandiao")
# ... and the console's sign-in with the same provider (OIDC discovery document).
CONSOLE_OIDC = ("--set", "console.oidc.metadataUrl=https://idp.test.invalid/.well-known/openid-configuration")
# ... and the console's public address, which intake prints on receipts (required in production).
CONSOLE_URL = ("--set", "console.baseUrl=https://console.test.invalid")
ISSUER = IDENTITY + CONSOLE_OIDC + CONSOLE_URL


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
    """The gRPC services' objects of ``kind`` (the console's are checked on their own, _console)."""
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind
            and o["metadata"].get("labels", {}).get("app.kubernetes.io/component") != "console"}


def deployments(objects: Objects) -> dict[str, dict]:
    """Deployments by service (the app.kubernetes.io/component label)."""
    return {d["metadata"]["labels"]["app.kubernetes.io/component"]: d for d in of_kind(objects, "Deployment").values()}


def env_of(container: dict) -> dict[str, str | None]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def all_containers(deployment: dict) -> list[dict]:
    spec = deployment["spec"]["template"]["spec"]
    return spec.get("initContainers", []) + spec["containers"]


def service_folders() -> list[str]:
    """The gRPC services: every folder under services/ with a Dockerfile but the console."""
    return sorted(p.parent.name for p in (ROOT / "services").glob("*/Dockerfile") if p.parent.name != "console")


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
        ingress = {tuple(p["port"] for p in rule["ports"]): rule.get("from") for rule in spec["ingress"]}
        assert set(ingress) == {(50051,), (9464,), (8081,)}
        assert {"podSelector": {}} in ingress[(50051,)]
        # The kubelet's probes reach the plain-text health port from the node (no selector names it).
        assert ingress[(8081,)] is None
        assert ingress[(9464,)] == [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
        ]
        egress_ports = {p["port"] for rule in spec["egress"] for p in rule["ports"]}
        assert egress_ports == {53, 5432, 9092, 9093, 50051}, name


def test_service_monitors_only_when_switched_on(render, default):
    assert of_kind(default, "ServiceMonitor") == {}
    monitors = of_kind(render("liandiao", "--set", "serviceMonitors.create=true"), "ServiceMonitor")
    assert sorted(monitors) == [f"liandiao-{s}" for s in SERVICES]
    for name, monitor in monitors.items():
        endpoint = monitor["spec"]["endpoints"][0]
        assert endpoint["port"] == "http-metrics"
        # Metrics over HTTPS with the service's certificate, checked against its CA.
        assert endpoint["scheme"] == "https" and endpoint["tlsConfig"]["serverName"] == name
        assert endpoint["tlsConfig"]["ca"]["secret"] == {"name": f"{name}-tls", "key": "ca.crt"}


def test_the_health_port_can_be_narrowed_to_the_nodes_and_closes_without_tls(render):
    nodes = render("liandiao", "--set", "networkPolicies.healthFrom[0].ipBlock.cidr=10.0.0.0/16")
    for policy in of_kind(nodes, "NetworkPolicy").values():
        rule = next(r for r in policy["spec"]["ingress"] if r["ports"][0]["port"] == 8081)
        assert rule["from"] == [{"ipBlock": {"cidr": "10.0.0.0/16"}}]
    plain = render("liandiao", "--set", "environment=development", "--set", "tls.enabled=false",
                   "--set", "kafka.security.protocol=PLAINTEXT", "--set", "database.tls.sslmode=disable")
    for policy in of_kind(plain, "NetworkPolicy").values():
        assert {r["ports"][0]["port"] for r in policy["spec"]["ingress"]} == {50051, 9464}


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
            if svc in PROVINCE_WIDE:   # counts 1505 too: its figures roll up to the province
                assert (env["LIANDIAO_EXCLUDE_PREFECTURES"], env["LIANDIAO_PREFECTURES"]) == ("", ""), svc
                continue
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


def test_a_region_release_cannot_run_a_province_wide_service(helm):
    done = subprocess.run([str(HELM), "template", "x", str(CHART), "-f", str(CHART / "values-region-1505.yaml"),
                           "--set", "services.statistics.create=true"], capture_output=True, text=True)
    assert done.returncode != 0 and "services.statistics is province-wide" in done.stderr


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


# --- notification's channels ------------------------------------------------------------------

CHANNELS = ("--set", "notification.sms.enabled=true", "--set", "notification.sms.url=https://sms.example.cn/send",
            "--set", "notification.sms.receipts.enabled=true", "--set", "notification.sms.templateIds.a/b=SMS_7",
            "--set", "notification.smtp.enabled=true", "--set", "notification.smtp.host=smtp.example.cn",
            "--set", "notification.smtp.username=noreply", "--set", "notification.webhooks.existingSecret=hooks")


def test_notification_reads_contacts_with_its_token_and_has_no_channel_by_default(default):
    dep = deployments(default)["notification"]
    env = env_of(dep["spec"]["template"]["spec"]["containers"][0])
    assert env["LIANDIAO_INTAKE_ADDRESS"] == "liandiao-intake:50051"
    assert env["LIANDIAO_PERSONNEL_ADDRESS"] == "liandiao-personnel:50051"
    assert env["LIANDIAO_SERVICE_TOKEN_FILE"] == "/etc/liandiao/service-token/token"
    assert not {k for k in env if k.startswith(("LIANDIAO_SMS_", "LIANDIAO_SMTP_", "LIANDIAO_WEBHOOKS"))}
    volumes = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
    assert volumes["service-token"]["secret"]["secretName"] == "liandiao-notification-token"
    others = [d for svc, d in deployments(default).items() if svc != "notification"]
    assert all("LIANDIAO_INTAKE_ADDRESS" not in env_of(d["spec"]["template"]["spec"]["containers"][0]) for d in others)


def test_notification_channels_take_their_credentials_from_secrets(render):
    objects = render("liandiao", *CHANNELS)
    dep = deployments(objects)["notification"]
    container = dep["spec"]["template"]["spec"]["containers"][0]
    env = env_of(container)
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]
            if "secretKeyRef" in e.get("valueFrom", {})}
    assert refs["LIANDIAO_SMS_API_KEY"] == {"name": "liandiao-notification-sms", "key": "api-key"}
    assert refs["LIANDIAO_SMS_RECEIPT_SECRET"] == {"name": "liandiao-notification-sms", "key": "receipt-secret"}
    assert refs["LIANDIAO_SMTP_PASSWORD"] == {"name": "liandiao-notification-smtp", "key": "password"}
    assert env["LIANDIAO_SMS_URL"] == "https://sms.example.cn/send" and env["LIANDIAO_SMS_TEMPLATE_IDS"] == "a/b=SMS_7"
    assert env["LIANDIAO_SMTP_HOST"] == "smtp.example.cn" and env["LIANDIAO_SMTP_STARTTLS"] == "true"
    assert env["LIANDIAO_WEBHOOKS_FILE"] == "/etc/liandiao/webhooks/webhooks.toml"
    assert {"name": "sms-receipts", "containerPort": 8090, "protocol": "TCP"} in container["ports"]
    [svc] = [s for s in of_kind(objects, "Service").values() if s["metadata"]["name"] == "liandiao-notification"]
    assert any(p["port"] == 8090 for p in svc["spec"]["ports"])
    policy = of_kind(objects, "NetworkPolicy")["liandiao-notification"]["spec"]
    assert any(r["ports"] == [{"port": 8090, "protocol": "TCP"}] for r in policy["ingress"])
    assert any({p["port"] for p in r["ports"]} == {443, 587} for r in policy["egress"] if "ports" in r)
    # No other service gets the channels' secrets or port.
    for name, d in deployments(objects).items():
        if name != "notification":
            assert not any(e["name"].startswith("LIANDIAO_SMS") for e in d["spec"]["template"]["spec"]["containers"][0]["env"])


@pytest.mark.parametrize(("setting", "named"), [
    ("notification.sms.timeoutSeconds=0", "timeoutSeconds"),
    ("notification.sms.url=ftp://x", "url"),
    ("notification.smtp.prot=25", "prot"),
    ("notification.contacts.ttlSeconds=-1", "ttlSeconds"),
])
def test_values_schema_checks_notification_settings(helm, setting, named):
    done = subprocess.run([str(helm), "lint", str(CHART), *ISSUER, "--set", setting],
                          capture_output=True, text=True, check=False)
    assert done.returncode != 0 and named in done.stdout + done.stderr


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
    assert sorted(a["image"] for a in artifacts) == sorted(f"liandiao-{s}" for s in [*service_folders(), "console"])
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
    want["console.image"] = "{{.IMAGE_FULLY_QUALIFIED_liandiao_console}}"
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


# --- the court and police systems' adapter (services/intake/external) ---------------------------

EXTERNAL = ("--set", "externalSystems.create=true", "--set", "externalSystems.ingress.enabled=true",
            "--set", "externalSystems.ingress.host=external.liandiao.test", "--set",
            "externalSystems.httpTls.clientCaSecret=systems-ca")


def test_the_external_systems_adapter_is_off_unless_switched_on(default):
    assert "external-systems" not in deployments(default)
    assert not of_kind(default, "Ingress")


def test_the_external_systems_adapter_runs_from_intakes_image_as_its_own_deployment(render):
    objects = render("liandiao", *EXTERNAL)
    dep = deployments(objects)["external-systems"]
    assert dep["spec"]["replicas"] == 2
    intake_image = deployments(objects)["intake"]["spec"]["template"]["spec"]["containers"][0]["image"]
    init, main = all_containers(dep)
    assert {init["image"], main["image"]} == {intake_image}
    assert init["command"] == ["python", "-m", "services.intake.external", "migrate"]
    assert main["command"] == ["python", "-m", "services.intake.external"]
    env = env_of(main)
    assert env["LIANDIAO_EXTERNAL_SYSTEMS_FILE"] == "/etc/liandiao/external-systems/systems.toml"
    assert env["LIANDIAO_INTAKE_ADDRESS"] == "liandiao-intake:50051" and env["LIANDIAO_ENV"] == "production"
    assert env["LIANDIAO_HTTP_CLIENT_CA_FILE"] == "/etc/liandiao/http-client-ca/ca.crt"
    assert env["LIANDIAO_SERVICE_TOKEN_FILE"] and env["LIANDIAO_TLS_CERT_FILE"]
    assert "LIANDIAO_KAFKA_BOOTSTRAP" not in env and "LIANDIAO_PII_KEY" not in env   # it needs neither
    volumes = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
    # Every secret from an existing Secret: the systems file, HTTPS, the systems' CA, its token, its gRPC cert.
    assert volumes["systems"]["secret"]["secretName"] == "liandiao-external-systems"
    assert volumes["http-client-ca"]["secret"]["secretName"] == "systems-ca"
    assert volumes["tls"]["secret"]["secretName"] == "liandiao-external-systems-tls"
    assert not of_kind(objects, "Secret")
    assert main["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    service = of_kind(objects, "Service")["liandiao-external-systems"]
    assert [p["name"] for p in service["spec"]["ports"]] == ["https", "http-metrics"]
    ingress = of_kind(objects, "Ingress")["liandiao-external-systems"]
    assert ingress["spec"]["rules"][0]["host"] == "external.liandiao.test"


def test_the_adapters_network_policy_lets_it_reach_intake_and_nothing_else_of_the_platform(render):
    policy = of_kind(render("liandiao", *EXTERNAL), "NetworkPolicy")["liandiao-external-systems"]
    platform = [rule for rule in policy["spec"]["egress"] if any("podSelector" in to for to in rule.get("to", []))]
    assert platform == [{"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "liandiao",
                                                                  "app.kubernetes.io/component": "intake"}}}],
                         "ports": [{"port": 50051, "protocol": "TCP"}]}]
    ports = {p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]}
    assert ports == {8443, 8082, 9464}


def test_the_adapters_ingress_needs_a_host_and_its_values_are_checked(helm):
    for args, words in ((("--set", "externalSystems.create=true", "--set", "externalSystems.ingress.enabled=true"),
                         "externalSystems.ingress.host"),
                        (("--set", "externalSystems.signatureWindowSeconds=1"), "signatureWindowSeconds")):
        done = subprocess.run([str(helm), "template", "liandiao", str(CHART), *ISSUER, *args], capture_output=True,
                              text=True, check=False)
        assert done.returncode != 0 and words in done.stderr


def test_the_adapters_objects_are_valid_kubernetes(render):
    try:
        import kubernetes_validate.utils as kv
    except ImportError:
        _missing("kubernetes-validate is not installed (pip install -r requirements.txt)")
    problems = []
    for obj in render("liandiao", *EXTERNAL):
        if obj["metadata"]["labels"].get("app.kubernetes.io/component") != "external-systems":
            continue
        try:
            kv.validate(obj, "1.37.0", strict=True)
        except (kv.ValidationError, kv.SchemaNotFoundError) as exc:
            problems.append(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message}")
    assert problems == []


# --- the staff console (services/console) -------------------------------------------------------

def _console(objects: Objects) -> dict[str, dict]:
    return {o["kind"]: o for o in objects if o["metadata"]["labels"].get("app.kubernetes.io/component") == "console"}


def test_production_console_needs_the_identity_provider(helm):
    done = subprocess.run([str(helm), "template", "liandiao", str(CHART), *IDENTITY], capture_output=True, text=True)
    assert done.returncode != 0 and "console.oidc.metadataUrl is required in production" in done.stderr
    dev = subprocess.run([str(helm), "template", "liandiao", str(CHART), *IDENTITY, "--set", "environment=development"],
                         capture_output=True, text=True)
    assert dev.returncode == 0, dev.stderr


def test_console_calls_every_service_over_tls_with_secrets_from_existing_secrets(render):
    objs = _console(render("liandiao"))
    assert set(objs) == {"Deployment", "Service", "NetworkPolicy"}   # no Ingress unless switched on
    (c,) = objs["Deployment"]["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in c["env"]}
    for svc in SERVICES:
        assert env[f"LIANDIAO_CONSOLE_{svc.upper()}_ADDRESS"]["value"] == f"liandiao-{svc}:50051"
    assert env["LIANDIAO_CONSOLE_SESSION_SECRET"]["valueFrom"]["secretKeyRef"]["name"] == "liandiao-console"
    assert "valueFrom" in env["LIANDIAO_CONSOLE_OIDC_CLIENT_SECRET"] and "value" not in env["LIANDIAO_CONSOLE_OIDC_CLIENT_SECRET"]
    assert env["LIANDIAO_TLS_CA_FILE"]["value"] == "/etc/liandiao/tls/ca.crt"
    assert c["securityContext"]["readOnlyRootFilesystem"] and c["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert objs["Service"]["spec"]["ports"][0]["targetPort"] == "http"
    egress = objs["NetworkPolicy"]["spec"]["egress"]
    assert [p["port"] for rule in egress for p in rule["ports"]] == [53, 53, 50051, 443]


def test_console_ingress_behind_its_switch_with_secure_cookies_over_tls(render):
    objs = _console(render("liandiao", "--set", "console.ingress.enabled=true",
                           "--set", "console.ingress.host=console.nm.example", "--set", "console.ingress.tlsSecret=c-tls"))
    ing = objs["Ingress"]["spec"]
    assert ing["rules"][0]["host"] == "console.nm.example" and ing["tls"][0]["secretName"] == "c-tls"
    assert ing["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == "liandiao-console"
    (c,) = objs["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert {e["name"]: e.get("value") for e in c["env"]}["LIANDIAO_CONSOLE_SECURE_COOKIES"] == "1"


def test_console_values_schema_rejects_a_plain_http_provider_and_a_mistyped_key(helm):
    for bad in ("console.oidc.metadataUrl=http://idp.test.invalid/x", "console.ingres.enabled=true"):
        done = subprocess.run([str(helm), "template", "liandiao", str(CHART), *ISSUER, "--set", bad],
                              capture_output=True, text=True)
        assert done.returncode != 0, bad


def test_the_region_release_runs_no_console(region):
    assert _console(region) == {}


def test_console_image_is_the_base_plus_its_package_and_static_files_built_from_the_lock():
    text = (ROOT / "services" / "console" / "Dockerfile").read_text()
    assert re.findall(r"^FROM (\S+)", text, re.M) == ["node:22-slim", "${BASE}"]
    assert "COPY services/console/package.json services/console/package-lock.json" in text and "npm ci" in text
    assert "COPY services/console/ services/console/" in text
    assert re.search(r'^ENTRYPOINT \["python", "-m", "services\.console"\]$', text, re.M)
    # Nothing of another service: the ruling's PDF view is in libs (liandiao.documents), in the base image.
    assert set(re.findall(r"services/(\w+)/", text)) == {"console"}


def _intake_env(objects: Objects) -> dict[str, str | None]:
    (c,) = deployments(objects)["intake"]["spec"]["template"]["spec"]["containers"]
    return env_of(c)


def test_intake_prints_the_consoles_public_address_on_receipts(render, region):
    assert _intake_env(render("liandiao"))["LIANDIAO_CONSOLE_BASE_URL"] == "https://console.test.invalid"
    # The region's intake prints receipts too, with the province's one console (its values say which).
    assert _intake_env(region)["LIANDIAO_CONSOLE_BASE_URL"] == "https://console.test.invalid"
    region_values = yaml.safe_load((CHART / "values-region-1505.yaml").read_text())
    assert region_values["console"]["baseUrl"].startswith("https://")
    # Unset, it is the console's ingress host, over https; no other service is given it.
    objs = render("liandiao", "--set", "console.baseUrl=", "--set", "console.ingress.enabled=true",
                  "--set", "console.ingress.host=console.nm.example")
    assert _intake_env(objs)["LIANDIAO_CONSOLE_BASE_URL"] == "https://console.nm.example"
    others = [s for s, d in deployments(objs).items() if s != "intake"
              for c in all_containers(d) if "LIANDIAO_CONSOLE_BASE_URL" in env_of(c)]
    assert others == []
    dev = render("liandiao", "--set", "console.baseUrl=", "--set", "environment=development")
    assert "LIANDIAO_CONSOLE_BASE_URL" not in _intake_env(dev)    # intake's development default


@pytest.mark.parametrize(("bad", "named"), [
    ("console.baseUrl=", "console.baseUrl is required in production"),
    ("console.baseUrl=http://console.test.invalid", "console.baseUrl must be https in production"),
    ("console.baseUrl=https://console.test.invalid/party?code=1", "baseUrl"),
    ("extraEnv.LIANDIAO_CONSOLE_BASE_URL=https://x.invalid", "extraEnv.LIANDIAO_CONSOLE_BASE_URL"),
])
def test_the_consoles_address_is_checked(helm, bad, named):
    done = subprocess.run([str(helm), "template", "liandiao", str(CHART), *ISSUER, "--set", bad],
                          capture_output=True, text=True)
    assert done.returncode != 0 and named in done.stderr, done.stderr


def test_the_external_systems_adapter_exports_traces_when_the_chart_names_a_collector(render):
    objects = render("liandiao", *EXTERNAL, "--set", "otlp.endpoint=http://otel-collector.observability:4317")
    dep = deployments(objects)["external-systems"]
    assert env_of(dep["spec"]["template"]["spec"]["containers"][0])["LIANDIAO_OTLP_ENDPOINT"] \
        == "http://otel-collector.observability:4317"
    policy = of_kind(objects, "NetworkPolicy")["liandiao-external-systems"]
    assert 4317 in {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}
