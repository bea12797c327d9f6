#!/usr/bin/env bash
# Checks what an operator installs from deploy/ (the test suite runs it, from
# crates/memsight-cli/tests/serve/serve_fleet.rs, where the live checks against a real Prometheus are):
# - the Prometheus rules: `promtool check rules` and their unit tests (`promtool test rules`);
# - the systemd unit: `systemd-analyze verify` with no complaint, and an exposure score of
#   `systemd-analyze security` of at most 2.0 (offline: no systemd needs to be running);
# - the Kubernetes DaemonSet: the API schemas (kubernetes-validate --strict, offline) and the
#   privileges it is meant to have;
# - the Grafana dashboard and provisioning files parse.
# Needs promtool, systemd-analyze and the venv's kubernetes-validate (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${MEMSIGHT_VENV:-$PWD/.venv}"

echo "== Prometheus rules"
promtool check rules deploy/prometheus/memsight-rules.yml
(cd deploy/prometheus && promtool test rules memsight-rules.test.yml)

echo "== systemd unit"
bin="${MEMSIGHT_BIN:-target/debug/memsight}"
[ -x "$bin" ] || cargo build -q -p memsight-cli --bin memsight
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
# A root holding the unit, the binary it starts, and systemd's own units it depends on.
mkdir -p "$root/usr/local/bin" "$root/etc/systemd/system" "$root/usr/lib/systemd"
cp "$bin" "$root/usr/local/bin/memsight"
cp deploy/systemd/memsight.service "$root/etc/systemd/system/"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
verify=$(systemd-analyze verify --root="$root" memsight.service 2>&1) || {
  echo "$verify" >&2
  exit 1
}
# verify exits 0 on an unknown or misspelt key: any complaint is a failure here.
if [ -n "$verify" ]; then
  echo "systemd-analyze verify: $verify" >&2
  exit 1
fi
echo "systemd-analyze verify: no complaint"
systemd-analyze security --offline=yes --threshold=20 --root="$root" memsight.service >"$root/security.txt" || {
  cat "$root/security.txt" >&2
  echo "exposure above 2.0" >&2
  exit 1
}
tail -n 1 "$root/security.txt"
unit=deploy/systemd/memsight.service
for line in AmbientCapabilities=CAP_SYS_PTRACE CapabilityBoundingSet=CAP_SYS_PTRACE DynamicUser=yes \
  NoNewPrivileges=yes ProtectSystem=strict ProtectProc=default ProcSubset=all; do
  grep -qx "$line" "$unit" || {
    echo "$unit: no $line" >&2
    exit 1
  }
done

echo "== Kubernetes DaemonSet"
"$venv/bin/kubernetes-validate" --strict deploy/kubernetes/daemonset.yaml
"$venv/bin/python" - deploy/kubernetes/daemonset.yaml <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
ds = next(d for d in docs if d["kind"] == "DaemonSet")
pod = ds["spec"]["template"]["spec"]
assert pod["hostPID"] is True, "hostPID"
(c,) = pod["containers"]
sc = c["securityContext"]
assert sc["readOnlyRootFilesystem"] is True, "read-only root"
assert sc["allowPrivilegeEscalation"] is False and sc.get("privileged") is False
assert sc["capabilities"] == {"drop": ["ALL"], "add": ["SYS_PTRACE"]}, sc["capabilities"]
res = c["resources"]
assert res["requests"]["memory"] and res["limits"]["memory"], res
assert all(m.get("readOnly") for m in c["volumeMounts"]), "every mount read-only"
print("daemonset: hostPID, read-only root, SYS_PTRACE only, memory request", res["requests"]["memory"])
PY

echo "== Grafana"
"$venv/bin/python" - <<'PY'
import json, yaml
json.load(open("deploy/grafana/memsight.json"))
for f in ("dashboards/memsight.yaml", "datasources/prometheus.yaml"):
    doc = yaml.safe_load(open("deploy/grafana/provisioning/" + f))
    assert doc["apiVersion"] == 1, f
print("grafana: dashboard and provisioning files parse")
PY
echo "deploy: every check passed"
