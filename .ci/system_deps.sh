#!/usr/bin/env bash
# Installs the Debian packages the test suite needs: a real Slurm with munge for
# tests/slurm/, and shellcheck for the Slurm scripts. Quiet and idempotent: when every
# package is installed it only checks dpkg and exits. When it cannot install (no root, no apt, no
# network) it says why and exits 0; the Slurm tests then skip with that reason.
set -euo pipefail

PACKAGES=(slurm-wlm munge shellcheck)

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    echo "system_deps: cannot install ${missing[*]}: not root and no password-less sudo" >&2
    exit 0
  fi
fi
if ! command -v apt-get >/dev/null; then
  echo "system_deps: cannot install ${missing[*]}: apt-get not found (not Debian/Ubuntu)" >&2
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
if ! "${sudo[@]}" apt-get update -qq >/dev/null \
  || ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
  echo "system_deps: apt-get could not install ${missing[*]}" >&2
fi
exit 0
