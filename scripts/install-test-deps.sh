#!/usr/bin/env bash
# Installs the system programs the test suite starts by itself, when any is missing:
#   redis-server, redis-cli      real Redis servers (single node, cluster, sentinel)
#   promtool, prometheus         alert rules and a real Prometheus scraping usher
#   kubectl                      kubectl kustomize renders the manifests
#   chromium, ffmpeg             browser tests and their recordings
#   podman, runc, debootstrap    scripts/image-check.sh builds and runs the container image
# Debian/Ubuntu, as root: apt-get installs what is missing. Otherwise it prints the one apt-get
# line to run and exits 1. When everything is there it does nothing, so `npm test` runs it first
# (npm's pretest) and .ci/run does too.
set -uo pipefail

# command  Debian package
PROGRAMS=(
  "redis-server redis-server"
  "redis-cli redis-tools"
  "promtool prometheus"
  "prometheus prometheus"
  "kubectl kubernetes-client"
  "chromium chromium"
  "ffmpeg ffmpeg"
  "podman podman"
  "runc runc"
  "debootstrap debootstrap"
)

# runc and debootstrap live in /usr/sbin, which a normal user's PATH may lack.
have() { command -v "$1" >/dev/null || [[ -x /usr/sbin/$1 || -x /sbin/$1 ]]; }

missing=()
for entry in "${PROGRAMS[@]}"; do
  read -r cmd package <<<"$entry"
  have "$cmd" || [[ " ${missing[*]} " == *" $package "* ]] || missing+=("$package")
done
((${#missing[@]} == 0)) && exit 0

if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
  echo "The tests need programs this machine lacks. On Debian/Ubuntu, install them with:"
  echo
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}"
  echo
  echo "then run the tests again (npx jest runs them without this check)."
  exit 1
fi

echo "install-test-deps: apt-get install ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
  echo "install-test-deps: apt-get could not install ${missing[*]}"
  exit 1
fi

still=()
for entry in "${PROGRAMS[@]}"; do
  read -r cmd _ <<<"$entry"
  have "$cmd" || still+=("$cmd")
done
if ((${#still[@]})); then
  echo "install-test-deps: still missing after apt-get: ${still[*]}"
  exit 1
fi
