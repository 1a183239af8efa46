#!/usr/bin/env bash
# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# The collection as a user gets it: the tarball from `make build` installed
# through the README's requirements.yml into a scratch collections path (no
# other collection visible), then, from a directory outside the repository,
# the README's examples (docs/examples/) syntax-checked, `kuutorvaja.xen.site`
# resolved, and the action group's module_defaults run against localhost
# (tests/integration/module_defaults.yml from the installed copy).
# VENV picks the ansible-core to use (default .venv).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
venv=$(cd "$top" && cd "${VENV:-.venv}" && pwd)
tarballs=("$top"/.cache/build/kuutorvaja-xen-*.tar.gz)
[ -f "${tarballs[0]}" ] || { echo "install-check: no tarball in .cache/build; run 'make build' first" >&2; exit 1; }

"$venv/bin/python" "$top/hack/readme_examples.py" "$top/README.md" "$top/docs/examples"

work=$(mktemp -d /tmp/kuutorvaja-install-check.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -r "$top/docs/examples/." "$work/"
cp "${tarballs[0]}" "$work/"
cd "$work"
export ANSIBLE_COLLECTIONS_PATH=$work/collections ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
export ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=false
echo "== install-check ($("$venv/bin/ansible" --version | sed -n 1p)): install from requirements.yml"
"$venv/bin/ansible-galaxy" collection install -r requirements.yml -p collections
echo "== install-check: syntax of the README's playbooks and of kuutorvaja.xen.site"
for playbook in infrastructure.yml roles.yml kuutorvaja.xen.site; do
  "$venv/bin/ansible-playbook" -i inventory.yml --syntax-check "$playbook"
done
echo "== install-check: module_defaults through group/kuutorvaja.xen.xen"
"$venv/bin/ansible-playbook" -i localhost, -c local -e "ansible_python_interpreter=$venv/bin/python" \
  collections/ansible_collections/kuutorvaja/xen/tests/integration/module_defaults.yml
