#!/usr/bin/env bash
# Checks the deployment files without a cluster:
#   1. helm (built from source with Go into .cache/bin when missing: it is in no OS or PyPI package)
#   2. helm lint --strict of charts/liandiao with each values file (the values schema included)
#   3. helm template of each release, validated by kubernetes-validate --strict against the oldest
#      and the newest Kubernetes the chart supports; CRD kinds (Strimzi KafkaTopic, Prometheus
#      ServiceMonitor and PrometheusRule) checked structurally here, since their schemas are not bundled
#   4. skaffold.yaml: one artifact per services/<svc>/Dockerfile, each image mapped into the chart
#
#   scripts/check_deploy.sh                 all checks
#   scripts/check_deploy.sh --install-helm  only make sure .cache/bin/helm exists (tests use it)
# Rendered manifests are left in .cache/deploy/ for reading.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HELM_VERSION="v3.22.0"
# Kubernetes version helm assumes without a cluster (.Capabilities.KubeVersion): the official
# release binaries set it from the client-go they are built with (v0.37 for helm v3.22.0), and
# `go install` alone leaves it at v1.20, which the chart's kubeVersion refuses.
HELM_K8S_MINOR="37"
HELM="$ROOT/.cache/bin/helm"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
CHART="$ROOT/charts/liandiao"
OUT="$ROOT/.cache/deploy"
# The chart's kubeVersion floor (Chart.yaml) and the newest that kubernetes-validate bundles.
KUBE_VERSIONS=(1.27.0 1.37.0)

say() { printf '==> %s\n' "$*"; }
die() { printf 'check_deploy: %s\n' "$*" >&2; exit 1; }

install_helm() {
    if [[ -x "$HELM" ]] && [[ "$("$HELM" version --template '{{.Version}}' 2>/dev/null)" == "$HELM_VERSION" ]]; then
        return 0
    fi
    command -v go >/dev/null || die "helm $HELM_VERSION is not in $HELM and Go is not installed to build it"
    say "building helm $HELM_VERSION with $(go version | cut -d' ' -f3) (a few minutes on 2 cores)"
    local pkg="helm.sh/helm/v3"
    local start=$SECONDS
    mkdir -p "$(dirname "$HELM")"
    GOBIN="$(dirname "$HELM")" go install -trimpath -ldflags "-s -w \
        -X $pkg/internal/version.version=$HELM_VERSION \
        -X $pkg/pkg/lint/rules.k8sVersionMajor=1 -X $pkg/pkg/lint/rules.k8sVersionMinor=$HELM_K8S_MINOR \
        -X $pkg/pkg/chartutil.k8sVersionMajor=1 -X $pkg/pkg/chartutil.k8sVersionMinor=$HELM_K8S_MINOR" \
        "$pkg/cmd/helm@$HELM_VERSION"
    say "helm built in $((SECONDS - start))s: $("$HELM" version --short)"
}

install_helm
[[ "${1:-}" == "--install-helm" ]] && exit 0

[[ -x "$PYTHON" ]] || die "no Python at $PYTHON (set PYTHON=...)"
"$PYTHON" -c 'import kubernetes_validate, yaml' 2>/dev/null \
    || die "kubernetes-validate is not installed for $PYTHON: pip install -r requirements.txt"

mkdir -p "$OUT"
rm -f "$OUT"/*.yaml
CAL="$OUT/calendar.json.in"
printf '{"format": 1, "years": {}}\n' > "$CAL"

# name | helm release | arguments. "switches" turns on every optional branch of the templates.
ISSUER="--set identity.issuer=https://idp.test.invalid/realms/liandiao"
CASES=(
    "default|liandiao|$ISSUER"
    "province|liandiao|-f $CHART/values-province.yaml"
    "region-1505|liandiao-1505|-f $CHART/values-region-1505.yaml"
    "switches|liandiao|$ISSUER --set serviceMonitors.create=true --set serviceMonitors.labels.release=kps --set prometheusRules.create=true --set otlp.endpoint=http://otel-collector.observability:4317 --set autoscaling.enabled=false --set images.repository=registry.example/liandiao --set-json images.pullSecrets=[\"regcred\"] --set-json nodeSelector={\"liandiao/pool\":\"services\"} --set-json tolerations=[{\"key\":\"dedicated\",\"operator\":\"Equal\",\"value\":\"liandiao\",\"effect\":\"NoSchedule\"}] --set podAnnotations.team=platform --set extraEnv.LIANDIAO_OUTBOX_POLL_MS=200 --set-json database.key=\"{service}\" --set-file holidayCalendar.file=$CAL"
)

set -f  # the arguments hold [ ] { }: split them into words, never expand them as globs
for case in "${CASES[@]}"; do
    IFS='|' read -r name release args <<<"$case"
    say "helm lint --strict ($name)"
    # shellcheck disable=SC2086  # args are word lists on purpose
    "$HELM" lint --strict "$CHART" $args >"$OUT/$name.lint" 2>&1 || { cat "$OUT/$name.lint"; die "helm lint failed ($name)"; }
    say "helm template $release ($name)"
    # shellcheck disable=SC2086
    "$HELM" template "$release" "$CHART" --namespace liandiao $args >"$OUT/$name.yaml" \
        || die "helm template failed ($name)"
done
set +f

say "kubernetes-validate --strict (Kubernetes ${KUBE_VERSIONS[*]}), CRDs structurally, skaffold.yaml"
"$PYTHON" - "$ROOT" "$OUT" "${KUBE_VERSIONS[@]}" <<'PY'
import re
import sys
from pathlib import Path

import yaml
import kubernetes_validate.utils as kv

root, out, versions = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
errors: list[str] = []
CRDS = {("kafka.strimzi.io/v1beta2", "KafkaTopic"), ("monitoring.coreos.com/v1", "ServiceMonitor"),
        ("monitoring.coreos.com/v1", "PrometheusRule")}
TOPIC = re.compile(r"^liandiao\.[a-z]+\.[a-z]+(-[a-z]+)*\.v[0-9]+\.(00|[0-9]{4})(\.dlq\.[a-z]+(\.[a-z-]+)*)?$")


def check_topic(where: str, doc: dict) -> None:
    meta, spec = doc.get("metadata", {}), doc.get("spec", {})
    name = meta.get("name", "")
    if not TOPIC.match(name) or len(name) > 249:
        errors.append(f"{where}: topic name {name!r} is not liandiao.<service>.<event>.v<n>.<shard>[.dlq.<consumer>]")
    if spec.get("topicName") != name:
        errors.append(f"{where}: spec.topicName {spec.get('topicName')!r} differs from the name")
    if not meta.get("labels", {}).get("strimzi.io/cluster"):
        errors.append(f"{where}: no strimzi.io/cluster label (the Topic Operator would ignore it)")
    for key in ("partitions", "replicas"):
        if not isinstance(spec.get(key), int) or spec[key] < 1:
            errors.append(f"{where}: spec.{key} must be a positive integer, got {spec.get(key)!r}")
    for key, value in (spec.get("config") or {}).items():
        if isinstance(value, float):
            errors.append(f"{where}: config {key}={value!r} is a float, Kafka wants a whole number (quote it in values)")
    unknown = set(spec) - {"topicName", "partitions", "replicas", "config"}
    if unknown:
        errors.append(f"{where}: unknown KafkaTopic spec fields {sorted(unknown)}")


def check_monitor(where: str, doc: dict, port_names: dict[str, set[str]]) -> None:
    spec = doc.get("spec", {})
    selector = spec.get("selector", {}).get("matchLabels")
    if not selector:
        errors.append(f"{where}: ServiceMonitor without spec.selector.matchLabels")
    endpoints = spec.get("endpoints") or []
    if not endpoints:
        errors.append(f"{where}: ServiceMonitor without endpoints")
    ports = port_names.get(doc["metadata"]["name"], set())
    for ep in endpoints:
        if ep.get("port") not in ports:
            errors.append(f"{where}: endpoint port {ep.get('port')!r} is not a port of Service {doc['metadata']['name']}")


def check_rules(where: str, doc: dict) -> None:
    groups = doc.get("spec", {}).get("groups") or []
    if not groups:
        errors.append(f"{where}: PrometheusRule without groups")
    for group in groups:
        for rule in group.get("rules") or []:
            if not rule.get("alert") or not rule.get("expr"):
                errors.append(f"{where}: rule without alert or expr: {rule}")
            unknown = set(rule) - {"alert", "expr", "for", "labels", "annotations"}
            if unknown:
                errors.append(f"{where}: rule {rule.get('alert')}: unknown fields {sorted(unknown)}")


rendered: dict[str, set[tuple[str, str]]] = {}
for path in sorted(out.glob("*.yaml")):
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    if not docs:
        errors.append(f"{path.name}: rendered nothing")
    seen: set[tuple[str, str]] = set()
    port_names = {d["metadata"]["name"]: {p["name"] for p in d["spec"]["ports"]} for d in docs if d["kind"] == "Service"}
    for doc in docs:
        ident = (doc["kind"], doc["metadata"]["name"])
        where = f"{path.name}: {ident[0]}/{ident[1]}"
        if ident in seen:
            errors.append(f"{where}: rendered twice")
        seen.add(ident)
        if (doc["apiVersion"], doc["kind"]) in CRDS:
            if doc["kind"] == "KafkaTopic":
                check_topic(where, doc)
            elif doc["kind"] == "PrometheusRule":
                check_rules(where, doc)
            else:
                check_monitor(where, doc, port_names)
            continue
        for version in versions:
            try:
                kv.validate(doc, version, strict=True)
            except kv.ValidationError as exc:
                path_ = ".".join(str(p) for p in exc.path)
                errors.append(f"{where}: invalid for Kubernetes {version}: {path_}: {exc.message}")
            except kv.SchemaNotFoundError as exc:
                errors.append(f"{where}: {exc.message}")
    rendered[path.stem] = seen
    print(f"    {path.name}: {len(docs)} objects")

# The province and the region release live side by side in one namespace: no shared object.
clash = rendered.get("province", set()) & rendered.get("region-1505", set())
if clash:
    errors.append(f"province and region-1505 releases render the same objects: {sorted(clash)[:5]}")

# skaffold.yaml: one artifact per service folder with a Dockerfile, each image set in the chart.
folders = sorted(p.parent.name for p in (root / "services").glob("*/Dockerfile"))
skaffold = yaml.safe_load((root / "skaffold.yaml").read_text())
artifacts = [a for a in skaffold["build"]["artifacts"] if a["image"] != "liandiao-base"]
images = sorted(a["image"] for a in artifacts)
if images != sorted(f"liandiao-{f}" for f in folders):
    errors.append(f"skaffold artifacts {images} != service folders with a Dockerfile {folders}")
for a in artifacts:
    svc = a["image"].removeprefix("liandiao-")
    if a.get("context", ".") != "." or a.get("docker", {}).get("dockerfile") != f"services/{svc}/Dockerfile":
        errors.append(f"skaffold artifact {a['image']}: context must be '.' and dockerfile services/{svc}/Dockerfile")
values = yaml.safe_load((root / "charts/liandiao/values.yaml").read_text())
if sorted(values["services"]) != folders:
    errors.append(f"chart services {sorted(values['services'])} != service folders {folders}")
releases = list(skaffold["deploy"]["helm"]["releases"])
for profile in skaffold.get("profiles", []):
    releases += profile.get("deploy", {}).get("helm", {}).get("releases", [])
for rel in releases:
    want = {f"services.{f}.image": "{{.IMAGE_FULLY_QUALIFIED_liandiao_%s}}" % f for f in folders}
    if rel.get("setValueTemplates") != want:
        errors.append(f"skaffold release {rel['name']}: setValueTemplates must map every artifact to services.<svc>.image")
    for f in [rel.get("chartPath", "")] + rel.get("valuesFiles", []):
        if not (root / f).exists():
            errors.append(f"skaffold release {rel['name']}: {f} does not exist")

for e in errors:
    print("ERROR " + e)
sys.exit(1 if errors else 0)
PY
say "deploy checks passed"
