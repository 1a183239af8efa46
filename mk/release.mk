# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# Release checks. install-check is the collection as a user installs it
# (hack/install-check.sh): the tarball of `make build` installed with the
# README's requirements.yml into a scratch path, the README's examples (docs/examples/) and kuutorvaja.xen.site
# syntax-checked from outside the tree, module_defaults through the action
# group run on localhost.
#   make install-check   with the main venv's ansible-core (the matrix runs it on its two)
#   make changelog-check the first release's notes dry-run in a scratch copy (hack/changelog_check.py):
#                        a summary, every module, filter, role and playbook once, no internal numbers
.PHONY: install-check changelog-check
install-check: build
	VENV=$(VENV) hack/install-check.sh

changelog-check: venv
	$(PY) hack/changelog_check.py
