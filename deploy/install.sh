#!/usr/bin/env bash
# Installs Danube on Kubernetes: K3s with Cilium on this host (when absent), or the current
# kubectl context with --existing-cluster. Generates the keys into Secrets once, renders
# deploy/ (kustomize) for this host, applies it, waits until every part is ready and says
# where to log in. Idempotent: a second run with the same input changes nothing.
#
#   deploy/install.sh --users users.yaml [--config-yaml config.yaml] [--host ci.example.com]
#                     [--existing-cluster] [--external-db URL] [--image-tag TAG] [--dry-run]
#
# --dry-run changes nothing: it prints, as one YAML stream, what it would do (as comments)
# and every object it would apply (generated key material is never printed).
set -euo pipefail

DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SYSTEM_NS=danube-system
JOBS_NS=danube-jobs
SERVER_IMAGE=ghcr.io/danube-ci/danube
COORDINATOR_IMAGE=ghcr.io/danube-ci/danube-coordinator
CILIUM_VERSION=1.16.5
K3S_KUBECONFIG=/etc/rancher/k3s/k3s.yaml
WAIT_TIMEOUT=${DANUBE_INSTALL_WAIT_TIMEOUT:-10m}

users=""
config_yaml=""
host=""
scheme=http
existing_cluster=false
external_db=""
image_tag=latest
dry_run=false

usage() {
    sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    cat <<'EOF'
Options:
  --users FILE          users.yaml of the config repository: the logins (Dex static passwords)
  --config-yaml FILE    config.yaml: its egress_allowlist becomes a CiliumNetworkPolicy
  --host NAME           host name or address users open (default: this host's first address)
  --https               the URL is https:// (TLS terminated in front of the ingress)
  --existing-cluster    use the current kubectl context; do not install K3s
  --external-db URL     use this PostgreSQL (deploy/overlays/external-db) instead of a StatefulSet
  --image-tag TAG       tag of the Danube images (default: latest)
  --dry-run             print what would be applied; change nothing
EOF
}

fail() {
    echo "install.sh: $*" >&2
    exit 1
}

say() {
    if $dry_run; then echo "# $*"; else echo "install.sh: $*" >&2; fi
}

parse_args() {
    while [ "$#" -gt 0 ]; do
        case "$1" in
            --users) users=${2:?--users needs a file}; shift ;;
            --config-yaml) config_yaml=${2:?--config-yaml needs a file}; shift ;;
            --host) host=${2:?--host needs a name}; shift ;;
            --https) scheme=https ;;
            --existing-cluster) existing_cluster=true ;;
            --external-db) external_db=${2:?--external-db needs a URL}; shift ;;
            --image-tag) image_tag=${2:?--image-tag needs a tag}; shift ;;
            --dry-run) dry_run=true ;;
            -h | --help) usage; exit 0 ;;
            *) usage >&2; fail "unknown argument $1" ;;
        esac
        shift
    done
    [ -n "$users" ] || fail "--users users.yaml is required (the people who may log in)"
    [ -f "$users" ] || fail "--users $users: no such file"
    [ -z "$config_yaml" ] || [ -f "$config_yaml" ] || fail "--config-yaml $config_yaml: no such file"
    case "$external_db" in
        "" | postgresql://* | postgres://*) ;;
        *) fail "--external-db must be a postgresql:// URL" ;;
    esac
    if [ -z "$host" ]; then
        host=$(hostname -I 2>/dev/null | awk '{print $1}')
        [ -n "$host" ] || fail "cannot tell this host's address: pass --host"
    fi
}

# The danube command renders Dex's config and the Cilium policy: the local one, else the
# server image's (a short-lived pod reading the file on stdin).
danube_cli() {
    local input=$1
    shift
    if command -v danube >/dev/null 2>&1; then
        # its data directory (created by every command) stays out of the current one
        DANUBE_DATA_DIR="$work/danube-data" danube "$@" "$input"
        return
    fi
    $dry_run && fail "--dry-run needs the danube command on PATH (sh deploy/images/build.sh server . /opt/danube; PATH=/opt/danube/bin:\$PATH)"
    local name="danube-cli-$$"
    local overrides
    overrides=$(printf '{"spec":{"securityContext":{"runAsNonRoot":true,"runAsUser":1000,"seccompProfile":{"type":"RuntimeDefault"}},"containers":[{"name":"%s","image":"%s:%s","stdin":true,"command":["danube"%s,"/dev/stdin"],"securityContext":{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]}}}]}}' \
        "$name" "$SERVER_IMAGE" "$image_tag" "$(printf ',"%s"' "$@")")
    kubectl run "$name" -n "$SYSTEM_NS" --rm -i --quiet --restart=Never --pod-running-timeout=5m \
        --image="$SERVER_IMAGE:$image_tag" --overrides="$overrides" <"$input"
}

ensure_cluster() {
    if $existing_cluster; then
        say "using the current kubectl context: $(kubectl config current-context 2>/dev/null || echo none)"
        $dry_run || kubectl cluster-info >/dev/null || fail "the current kubectl context does not answer"
        return
    fi
    if command -v k3s >/dev/null 2>&1; then
        say "K3s is installed: using it"
    else
        if $dry_run; then
            say "would install K3s without flannel and its network policy, with Cilium (chart $CILIUM_VERSION) as the CNI"
        else
            say "installing K3s with Cilium (chart $CILIUM_VERSION) as the CNI"
            install_k3s
        fi
    fi
    export KUBECONFIG=${KUBECONFIG:-$K3S_KUBECONFIG}
}

install_k3s() {
    [ "$(id -u)" = 0 ] || fail "installing K3s needs root (or pass --existing-cluster)"
    mkdir -p /var/lib/rancher/k3s/server/manifests
    # K3s deploys what is in this folder; Cilium replaces flannel and enforces the policies.
    cat >/var/lib/rancher/k3s/server/manifests/cilium.yaml <<EOF
apiVersion: helm.cattle.io/v1
kind: HelmChart
metadata:
  name: cilium
  namespace: kube-system
spec:
  repo: https://helm.cilium.io/
  chart: cilium
  version: $CILIUM_VERSION
  targetNamespace: kube-system
  bootstrap: true
  valuesContent: |-
    operator:
      replicas: 1
    ipam:
      operator:
        clusterPoolIPv4PodCIDRList: ["10.42.0.0/16"]
EOF
    curl -sfL https://get.k3s.io |
        INSTALL_K3S_EXEC="--flannel-backend=none --disable-network-policy" sh -
    export KUBECONFIG=$K3S_KUBECONFIG
    local _
    for _ in $(seq 1 60); do
        kubectl get nodes -o name 2>/dev/null | grep -q . && break
        sleep 5
    done
    kubectl wait --for=condition=Ready node --all --timeout="$WAIT_TIMEOUT"
}

ensure_namespaces() {
    local namespace
    for namespace in "$SYSTEM_NS" "$JOBS_NS"; do
        if $dry_run; then
            say "would create namespace $namespace when absent (its labels come with the manifests)"
        elif ! kubectl get namespace "$namespace" >/dev/null 2>&1; then
            kubectl create namespace "$namespace" --save-config >/dev/null
        fi
    done
}

# A Secret made once from generated material; a second run keeps what is there.
ensure_secret() {
    local name=$1 what=$2
    shift 2
    if $dry_run; then
        say "would create Secret $SYSTEM_NS/$name when absent: $what"
        return
    fi
    if kubectl get secret "$name" -n "$SYSTEM_NS" >/dev/null 2>&1; then
        return
    fi
    "$@" | kubectl create secret generic "$name" -n "$SYSTEM_NS" --from-env-file=/dev/stdin >/dev/null \
        || fail "cannot create Secret $name"
    say "created Secret $SYSTEM_NS/$name ($what)"
}

# Prints KEY=VALUE for --from-env-file.
random_value() { echo "$1=$(openssl rand -hex 32)"; }

ensure_keys() {
    if ! $dry_run; then
        command -v openssl >/dev/null 2>&1 || fail "openssl is needed to generate the keys"
        # master.key is 32 raw bytes: made from a file, not an env line
        if ! kubectl get secret danube-master-key -n "$SYSTEM_NS" >/dev/null 2>&1; then
            local key
            key=$(mktemp)
            head -c 32 /dev/urandom >"$key"
            kubectl create secret generic danube-master-key -n "$SYSTEM_NS" \
                --from-file=master.key="$key" >/dev/null
            rm -f "$key"
            say "created Secret $SYSTEM_NS/danube-master-key (32 random bytes: back it up)"
        fi
        if ! kubectl get secret danube-signing-key -n "$SYSTEM_NS" >/dev/null 2>&1; then
            local signing
            signing=$(mktemp)
            openssl genpkey -algorithm ed25519 -out "$signing"
            kubectl create secret generic danube-signing-key -n "$SYSTEM_NS" \
                --from-file=signing.key="$signing" >/dev/null
            rm -f "$signing"
            say "created Secret $SYSTEM_NS/danube-signing-key (Ed25519, PEM)"
        fi
    else
        say "would create Secret $SYSTEM_NS/danube-master-key when absent: 32 random bytes"
        say "would create Secret $SYSTEM_NS/danube-signing-key when absent: an Ed25519 key (PEM)"
    fi
    ensure_secret danube-oidc "DANUBE_OIDC_CLIENT_SECRET, random" random_value DANUBE_OIDC_CLIENT_SECRET
    if [ -z "$external_db" ]; then
        ensure_secret danube-postgres "POSTGRES_PASSWORD, random" random_value POSTGRES_PASSWORD
        if $dry_run; then
            say "would create Secret $SYSTEM_NS/danube-database when absent: DANUBE_DATABASE_URL of danube-postgres"
        elif ! kubectl get secret danube-database -n "$SYSTEM_NS" >/dev/null 2>&1; then
            local password
            password=$(kubectl get secret danube-postgres -n "$SYSTEM_NS" \
                -o jsonpath='{.data.POSTGRES_PASSWORD}' | base64 -d)
            kubectl create secret generic danube-database -n "$SYSTEM_NS" --from-env-file=/dev/stdin \
                <<<"DANUBE_DATABASE_URL=postgresql://danube:$password@danube-postgres.$SYSTEM_NS.svc:5432/danube" \
                >/dev/null
            say "created Secret $SYSTEM_NS/danube-database"
        fi
    else
        say "Secret $SYSTEM_NS/danube-database: DANUBE_DATABASE_URL of --external-db (kept in step with it)"
        $dry_run || kubectl create secret generic danube-database -n "$SYSTEM_NS" \
            --from-env-file=/dev/stdin --dry-run=client -o yaml <<<"DANUBE_DATABASE_URL=$external_db" |
            kubectl apply -f - >/dev/null
    fi
}

# The rendered objects: deploy/ (or overlays/external-db) for this host and image tag,
# Dex's config as a Secret, and the Cilium policy when config.yaml is given. Bad input
# stops the run here, before any key or Danube object is created (the namespaces may be).
render() {
    # (uses $work, the temporary folder of this run)
    local base="$DEPLOY_DIR"
    [ -z "$external_db" ] || base="$DEPLOY_DIR/overlays/external-db"
    danube_cli "$users" dex-config --issuer "$url/dex" --redirect-uri "$url/auth/callback" >"$work/dex.yaml"
    kubectl create secret generic danube-dex -n "$SYSTEM_NS" --from-file=config.yaml="$work/dex.yaml" \
        --dry-run=client -o yaml | grep -v '^  creationTimestamp: null$' >"$work/dex-secret.yaml"
    local resources=("$(realpath --relative-to="$work" "$base")" dex-secret.yaml)
    if [ -n "$config_yaml" ]; then
        if $dry_run; then
            say "the CiliumNetworkPolicy below is applied only when the cluster runs Cilium"
        elif ! kubectl get crd ciliumnetworkpolicies.cilium.io >/dev/null 2>&1; then
            say "no Cilium in this cluster: config.yaml's egress_allowlist is not applied (job pods reach only gRPC, DNS and the registry)"
            config_yaml=""
        fi
    fi
    if [ -n "$config_yaml" ]; then
        danube_cli "$config_yaml" network-policy >"$work/cilium.yaml"
        resources+=(cilium.yaml)
    fi
    {
        echo "apiVersion: kustomize.config.k8s.io/v1beta1"
        echo "kind: Kustomization"
        echo "resources:"
        printf '  - %s\n' "${resources[@]}"
        cat <<EOF
images:
  - name: $SERVER_IMAGE
    newTag: "$image_tag"
patches:
  - patch: |-
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: danube, namespace: $SYSTEM_NS}
      data:
        DANUBE_PUBLIC_URL: "$url"
        DANUBE_OIDC_ISSUER: "$url/dex"
        DANUBE_K8S_COORDINATOR_IMAGE: "$COORDINATOR_IMAGE:$image_tag"
EOF
    } >"$work/kustomization.yaml"
    kubectl kustomize "$work" >"$work/rendered.yaml"
}

apply() {
    if $dry_run; then
        say "would apply these objects (kubectl apply -f):"
        echo "---"
        cat "$work/rendered.yaml"
        return
    fi
    local output
    output=$(kubectl apply -f "$work/rendered.yaml")
    echo "$output" | grep -v ' unchanged$' >&2 || true
    # Dex reads its config once: restart it when the config changed.
    if echo "$output" | grep -q '^secret/danube-dex configured$'; then
        kubectl rollout restart deployment/danube-dex -n "$SYSTEM_NS" >/dev/null
    fi
}

wait_ready() {
    local workloads=(deployment/danube-server deployment/danube-projector deployment/danube-dispatcher
        deployment/danube-scheduler deployment/danube-pod-adapter deployment/danube-dex deployment/registry)
    [ -n "$external_db" ] || workloads=(statefulset/danube-postgres "${workloads[@]}")
    if $dry_run; then
        say "would wait (up to $WAIT_TIMEOUT each) for: ${workloads[*]}"
        return
    fi
    local workload
    for workload in "${workloads[@]}"; do
        kubectl rollout status "$workload" -n "$SYSTEM_NS" --timeout="$WAIT_TIMEOUT" >/dev/null ||
            fail "$workload is not ready: kubectl -n $SYSTEM_NS describe $workload; see README, Troubleshooting"
    done
}

main() {
    parse_args "$@"
    url="$scheme://$host"
    $dry_run && say "deploy/install.sh --dry-run: nothing is changed; this is what a run would do."
    ensure_cluster
    command -v kubectl >/dev/null 2>&1 || fail "kubectl is needed (K3s brings it)"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    ensure_namespaces
    render
    ensure_keys
    apply
    wait_ready
    if $dry_run; then
        say "would print: Danube is ready at $url/ (log in with a user of $users)"
    else
        echo "Danube is ready at $url/"
        echo "Log in with the e-mail address and password of a user in $users (Dex, at $url/dex)."
        echo "Keep a copy of the Secret $SYSTEM_NS/danube-master-key: without it, secrets and job tokens are lost."
    fi
}

main "$@"
