#!/usr/bin/env bash
# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# Run ansible-test sanity on a staged copy of the collection, offline.
# ansible-test needs the tree at .../ansible_collections/kuutorvaja/xen (a
# symlink is refused), so we copy the files git knows about (tracked, plus new
# ones not ignored) into .cache/sanity/ (.cache/$SANITY_STAGE/ if set) and run there.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
venv=$(cd "$top" && cd "${VENV:-.venv}" && pwd)
python_version=${SANITY_PYTHON:-3.11}
stage=$top/.cache/${SANITY_STAGE:-sanity}/ansible_collections/kuutorvaja/xen

# ansible-test bootstraps pip in its venvs with a get-pip script it downloads
# from a host we cannot reach; put our ensurepip-based stand-in in its cache.
reqs=$(echo "$venv"/lib/python*/site-packages/ansible_test/_internal/python_requirements.py)
pip_version=$(sed -n "s/^ *pip='\([0-9.]*\)',.*/\1/p" "$reqs" | head -1)
[ -n "$pip_version" ] || { echo "sanity: cannot find ansible-test's pip version in $reqs" >&2; exit 1; }
mkdir -p ~/.ansible/test/cache
cp "$top/hack/get_pip_offline.py" ~/.ansible/test/cache/"get_pip_${pip_version//./_}.py"

# Stage the collection: what git tracks or would track, minus the tooling that
# is not part of the collection (the same things galaxy.yml's build_ignore drops).
rm -rf "$stage"
mkdir -p "$stage"
(cd "$top" && git ls-files -co --exclude-standard -z \
  | grep -zvE '^(\.ci|lab|mk|hack)/|^Makefile$' \
  | xargs -0 cp --parents -P -t "$stage"/)
# ansible-test needs a git-free tree with tests/output ignored; give it a repo
# of its own so it sees exactly the staged files.
(cd "$stage" && git init -q && printf 'tests/output/\n' >> .gitignore && git add -A && \
  git -c user.email=ci@localhost -c user.name=ci commit -qm stage)

cd "$stage"
exec "$venv/bin/ansible-test" sanity --venv --python "$python_version" --color no "$@"
