# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# The real-Xen lab: Xen 4.17 + a Debian bookworm dom0 booted in QEMU (lab/),
# and the Molecule scenario `xen` that applies playbooks/site.yml to it.
#   make lab         boot the lab (building its image on first use) and converge site.yml; leaves it running
#   make lab-ssh     a shell in the running lab's dom0
#   make lab-down    stop the lab
#   make lab-test    the whole scenario: check, converge, idempotence, check, verify, destroy
#   make lab-image   only build the dom0 disk image (cached under /var/cache/kuutorvaja-xenlab)
#   make lab-integrity-probe  count failed module runs in the running lab's dom0 while a guest boots
#                    (data corruption under TCG: lab/README.md; PROBE_ARGS='-e probe_rounds=8')
MOLECULE_LAB = PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/molecule

.PHONY: lab lab-ssh lab-down lab-test lab-image lab-integrity-probe
# lab/up.sh runs on its own first so that its stages (image, guest tarball,
# boot) and their times show as they happen; Molecule's create step reuses
# the lab it booted.
lab: deps venv
	@start=$$(date +%s); \
	echo "== make lab: boot the lab (lab/up.sh; its serial console log is .cache/xenlab/console.log)"; \
	lab/up.sh --reuse > /dev/null && \
	echo "== make lab: converge site.yml in it (molecule converge -s xen), $$(( $$(date +%s) - start ))s so far" && \
	$(MOLECULE_LAB) converge -s xen && \
	echo "== make lab: done in $$(( $$(date +%s) - start ))s"
	@echo "== xl list in the lab dom0:"
	@lab/ssh.sh xl list
	@echo "== the lab is running: 'make lab-ssh' (or lab/ssh.sh CMD) to get in, 'make lab-down' to stop it;"
	@echo "   its serial console log is .cache/xenlab/console.log"

lab-ssh:
	lab/ssh.sh

lab-down: venv
	$(MOLECULE_LAB) destroy -s xen

lab-test: deps venv
	$(MOLECULE_LAB) test -s xen

lab-image:
	lab/build-image.sh

PROBE_ARGS ?=
lab-integrity-probe: venv .cache/xenlab/guests-inventory.yml
	ANSIBLE_PIPELINING=true $(VENV)/bin/ansible-playbook -i .cache/xenlab/guests-inventory.yml lab/integrity-probe.yml $(PROBE_ARGS)
