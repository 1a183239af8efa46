# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# kuutorvaja.xen: one entry point for every check.
#   make lab    the main job: boot a lab dom0 in QEMU and apply site.yml to it
#   make test   the whole test suite (what CI runs)
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
COLLECTIONS := $(CURDIR)/.cache/collections
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH := true
export CONTAINERS_CONF := $(CURDIR)/tests/podman/containers.conf

MODULES = $(basename $(notdir $(wildcard plugins/modules/*.py)))
FILTERS = $(basename $(notdir $(wildcard plugins/filter/*.yml)))
INVENTORIES = $(basename $(notdir $(wildcard plugins/inventory/*.py)))
ROLES = $(notdir $(wildcard roles/*))

.PHONY: all test test-serial check deps venv collection-link mitogen-link lint sanity units docs docs-lint build clean
all: test

# The whole suite: check and molecule while the lab scenario runs beside
# them (hack/test.sh says why).
test:
	hack/test.sh

# The same, one part after the other.
test-serial: deps check molecule lab-test lab-faults-test

# Everything that needs no container and no hypervisor.
check: lint molecule-syntax units docs docs-lint sanity build install-check changelog-check matrix guests-local bad-input-local

$(VENV)/.installed: tests/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r tests/requirements.txt
	touch $@

# Debian packages (apt-get, as root) for the suite and the lab.
deps:
	hack/install-deps.sh

venv: $(VENV)/.installed collection-link mitogen-link

# $(call link,TARGET,LINK): make LINK point to TARGET, only when it does not
# already (make test runs two makes at once: hack/test.sh).
link = { [ "$$(readlink $(2))" = "$(1)" ] || ln -sfn "$(1)" $(2); }

# ansible finds the collection through .cache/collections/ansible_collections/kuutorvaja/xen -> repo.
collection-link:
	@mkdir -p $(COLLECTIONS)/ansible_collections/kuutorvaja
	@$(call link,../../../..,$(COLLECTIONS)/ansible_collections/kuutorvaja/xen)

# Mitogen's strategy plugins (mitogen_linear...), for ANSIBLE_STRATEGY_PLUGINS.
mitogen-link: $(VENV)/.installed
	@dir=$$($(PY) -c 'import os, ansible_mitogen.plugins.strategy as s; print(os.path.dirname(s.__file__))') && \
	  $(call link,$$dir,.cache/mitogen-strategy)

lint: venv
	$(VENV)/bin/yamllint -s .
	$(VENV)/bin/ansible-lint --offline
	shellcheck -x lab/*.sh hack/*.sh tests/podman/*.sh

# tests/unit stays fast and runs no host tool; the roles'
# golden tests start ansible-playbook (tests/integration/roles) and the
# e2fsprogs tests run mkfs and resize2fs on temp files (tests/integration/host_tools).
units: venv
	$(PY) -m pytest -q -p no:cacheprovider -n 2 tests/unit tests/integration/roles tests/integration/host_tools

docs: venv
	@set -e; for m in $(MODULES); do \
	  echo "ansible-doc kuutorvaja.xen.$$m"; \
	  $(VENV)/bin/ansible-doc -t module kuutorvaja.xen.$$m > /dev/null; done
	@set -e; for f in $(FILTERS); do \
	  echo "ansible-doc -t filter kuutorvaja.xen.$$f"; \
	  $(VENV)/bin/ansible-doc -t filter kuutorvaja.xen.$$f > /dev/null; done
	@set -e; for i in $(INVENTORIES); do \
	  echo "ansible-doc -t inventory kuutorvaja.xen.$$i"; \
	  $(VENV)/bin/ansible-doc -t inventory kuutorvaja.xen.$$i > /dev/null; done
	@set -e; for r in $(ROLES); do \
	  echo "ansible-doc -t role kuutorvaja.xen.$$r"; \
	  $(VENV)/bin/ansible-doc -t role kuutorvaja.xen.$$r > /dev/null; done

# The docsite lint of every module, filter and role doc: schema, markup and
# every reference (M(), P(), seealso; to ansible.builtin and this collection,
# the only ones it may make) resolved. Kept apart from `docs` so that
# one finding does not hide the ansible-doc results.
docs-lint: venv
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/antsibull-docs lint-collection-docs --plugin-docs \
	  --validate-collection-refs dependent --disallow-unknown-collection-refs .

sanity: venv
	VENV=$(VENV) hack/sanity.sh

# The release tarball holds no test or cache debris, and it installs.
build: venv
	@rm -rf .cache/build && mkdir -p .cache/build
	$(VENV)/bin/ansible-galaxy collection build --output-path .cache/build --force .
	$(VENV)/bin/ansible-galaxy collection install --force -p .cache/build/installed .cache/build/kuutorvaja-xen-*.tar.gz
	@if tar -tzf .cache/build/kuutorvaja-xen-*.tar.gz \
	  | grep -E '(^|/)(\.cache|\.venv|tests/output|__pycache__|\.pytest_cache|lab|\.ci)/|^(extensions/molecule/xen|tests/bench|tests/unit/hack)/'; then \
	  echo "build: debris or development-only files in the collection tarball" >&2; exit 1; fi
	@tar -tzf .cache/build/kuutorvaja-xen-*.tar.gz | grep -qx COPYING \
	  || { echo "build: no COPYING (the license) in the collection tarball" >&2; exit 1; }
	@echo "build: $$(tar -tzf .cache/build/kuutorvaja-xen-*.tar.gz | wc -l) files, no debris"

clean:
	rm -rf .cache/build .cache/sanity tests/output

-include mk/*.mk
