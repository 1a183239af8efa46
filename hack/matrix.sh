#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# One cell of the ansible-core matrix: the unit tests (tests/unit) and the
# roles' golden and e2fsprogs tests (tests/integration/roles, host_tools), ansible-test sanity and the install check of the
# tarball in .cache/build (hack/install-check.sh) on one ansible-core version.
#   hack/matrix.sh VERSION PYTHON     e.g. hack/matrix.sh 2.17.0 3.11
# The venv is cached outside the checkout, in $MATRIX_CACHE (default
# ~/.cache/kuutorvaja-xen/matrix), so a fresh clone on the same machine (CI)
# reuses it, as the lab reuses its image: PyPI only on first use. PYTHON is the X.Y the venv runs on: python3.X.Y on PATH, or pyenv's.
# MATRIX_SANITY_ARGS passes more options to ansible-test sanity (e.g. --test pylint).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
version=${1:?usage: hack/matrix.sh ANSIBLE_CORE_VERSION PYTHON_X.Y}
python_version=${2:?usage: hack/matrix.sh ANSIBLE_CORE_VERSION PYTHON_X.Y}
venv=${MATRIX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kuutorvaja-xen/matrix}/ansible-core-$version-py$python_version
start=$(date +%s)

# A python that really runs (a pyenv shim for a version not selected does not).
find_python() {
  local candidate
  for candidate in "python$python_version" \
    "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$python_version"*/bin/python"$python_version"; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import venv' >/dev/null 2>&1; then
      command -v "$candidate"
      return 0
    fi
  done
  echo "matrix: no working python$python_version (on PATH or under pyenv) for ansible-core $version" >&2
  return 1
}

if [ ! -f "$venv/.installed" ]; then
  python=$(find_python)
  echo "== matrix $version: venv on $python"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "ansible-core==$version" pytest pytest-xdist
  touch "$venv/.installed"
fi

cd "$top"
echo "== matrix $version: $("$venv/bin/ansible" --version | sed -n 1p), python $("$venv/bin/python" -V 2>&1)"
# Both steps run even when the first fails: one CI run shows all that breaks.
failed=()
echo "== matrix $version: units and golden role tests"
"$venv/bin/python" -m pytest -q -p no:cacheprovider -n 2 tests/unit tests/integration/roles tests/integration/host_tools || failed+=(units)
echo "== matrix $version: sanity"
read -r -a sanity_args <<< "${MATRIX_SANITY_ARGS:-}"
VENV=$venv SANITY_PYTHON=$python_version SANITY_STAGE=matrix/sanity-$version \
  hack/sanity.sh "${sanity_args[@]}" || failed+=(sanity)
echo "== matrix $version: the tarball as a user installs it"
VENV=$venv hack/install-check.sh || failed+=(install-check)
elapsed=$(( $(date +%s) - start ))
if [ ${#failed[@]} -gt 0 ]; then
  echo "== matrix $version: FAILED (${failed[*]}) in $elapsed s" >&2
  exit 1
fi
echo "== matrix $version: passed in $elapsed s"
