#!/usr/bin/env bash
# Installs or builds what the test suites need beyond npm packages. Idempotent: a second run finds
# everything in place in about a second. When something cannot be had, this fails (tests never skip).
set -euo pipefail
cd "$(dirname "$0")/.."
node -e 'const [major] = process.versions.node.split("."); if (+major < 24) { console.error(`Node ${process.version} is first on PATH; run through npm (npm test) so node_modules/.bin/node (Node 24) is used`); process.exit(1) }'

# Debian packages the suites run for real.
missing=()
need() { # command, Debian package that provides it
  command -v "$1" >/dev/null 2>&1 || missing+=("$2")
}
need openssl openssl           # certificates: test control plane, webhook and TLS tests
need flock util-linux          # one build of the control-plane binaries at a time
need unshare util-linux        # e2e: a sidecar runs as its pod would, its token mounted in a private mount namespace
need mount mount
need redis-server redis-server # rate-limit store tests
need redis-cli redis-tools
need prometheus prometheus     # the dashboard's queries run against a real Prometheus
need promtool prometheus       # checks and unit-tests the chart's alerts
need curl curl                 # commands of docs/kestra.md
# The node of the node-backed cluster suites (test/cluster/node.ts) and the images its pods run.
need containerd containerd
need ctr containerd
need runc runc
[ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
need iptables iptables         # kube-proxy's rules, inside the node's network namespace
need nft nftables              # the drop table that keeps pod traffic on the machine
need conntrack conntrack
need ip iproute2
need nsenter util-linux
need buildah buildah           # builds the project's Dockerfile, unmodified
need mmdebstrap mmdebstrap     # Debian root filesystems for the substitute base images
need gcc gcc                   # the static pause binary
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)  # The OpenTelemetry Collector the tracing suites export to (OTLP receiver, file exporter), built
# from the Go module proxy on the first run (about two minutes), then found in the cache.
bash test/tracing/build-collector.sh >/dev/null

# Python MCP peers
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "missing ${missing[*]}: install them (Debian: apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "== installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The real Kubernetes control plane for the cluster suites: built from the Go module proxy on the
# first run (about ten minutes), then found in the cache in well under a second.
bash test/cluster/build-binaries.sh >/dev/null

# Python MCP peers (the `mcp` client SDK and a FastMCP server), pinned in test/python/requirements.txt.
# The virtualenv is keyed by the requirements' hash, so a change of pins builds a fresh one.
cache=${MCP_WARDEN_CACHE:-$HOME/.cache/mcp-warden}
mkdir -p "$cache"
requirements=test/python/requirements.txt
venv="$cache/venv-$(sha256sum "$requirements" | cut -c1-12)"
if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.complete" ]; then
  echo "== creating the Python virtualenv for the interop tests ($venv)" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$requirements"
  touch "$venv/.complete"
fi
ln -sfn "$venv" "$cache/venv"

# The second real Kestra server (PyPI's iflow-mcp-mcp-server-python, FastMCP 2 and the SDK's FastMCP):
# its pins conflict with the virtualenv above, so it has its own, keyed the same way.
requirements=test/python/kestra-pypi/requirements.txt
venv="$cache/venv-kestra-pypi-$(sha256sum "$requirements" | cut -c1-12)"
if [ ! -x "$venv/bin/fastmcp" ] || [ ! -f "$venv/.complete" ]; then
  echo "== creating the virtualenv of the PyPI Kestra server ($venv)" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$requirements"
  # The package installs its server as src/server.py in site-packages; the tests start it from there.
  [ -f "$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/src/server.py" ] || { echo "iflow-mcp-mcp-server-python has no src/server.py" >&2; exit 1; }
  touch "$venv/.complete"
fi
ln -sfn "$venv" "$cache/venv-kestra-pypi"

# The images the node-backed suites run (test/cluster/images): the project's Dockerfile built with
# buildah, the Kestra image (from the virtualenv above) and the agent image, each cached by content
# hash in $cache/images; a source change rebuilds the project's image (about two minutes).
node test/cluster/images/build.ts >/dev/null
