# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# The real-Xen lab: Xen 4.17 + a Debian bookworm dom0 booted in QEMU (lab/),
# and the Molecule scenario `xen` that applies playbooks/site.yml to it.
#   make lab         boot the lab (building its image on first use) and converge site.yml; leaves it running
#   make lab-ssh     a shell in the running lab's dom0
#   make lab-down    stop the lab
#   make lab-test    the whole scenario `xen` (check, converge, idempotence, check, verify, side
#                    effect), then lab-dom0-test on the same lab, then the lab is destroyed
#   make lab-faults-test  the scenario `xen_faults`: the fault suite on a second lab of its own
#                    (.cache/xenlab-faults), which make test runs beside lab-test
#   make lab-dom0-test  the scenario `dom0` (a user's own dom0) on the running lab, with
#                    the lab's host and settings as the user's inventory (lab/inventory)
#   make lab-image   only build the dom0 disk image (cached under /var/cache/kuutorvaja-xenlab)
#   make lab-integrity-probe  count failed module runs in the running lab's dom0 while a guest boots
#                    (data corruption under TCG: lab/README.md; PROBE_ARGS='-e probe_rounds=8')
MOLECULE_LAB = PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/molecule

.PHONY: lab lab-ssh lab-down lab-test lab-faults-test lab-dom0-test lab-image lab-integrity-probe
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
	$(MOLECULE_LAB) destroy -s xen_faults

# --destroy never: the scenario `dom0` runs on the lab that `xen` leaves;
# the lab goes down at the end whatever failed. The first destroy is the one
# that `molecule test` would run first (a stale state from an earlier lab).
lab-test: deps venv
	@rc=0; $(MOLECULE_LAB) destroy -s xen && $(MOLECULE_LAB) test -s xen --destroy never \
	  && $(MAKE) --no-print-directory lab-dom0-test || rc=$$?; \
	$(MOLECULE_LAB) destroy -s xen; exit $$rc

# The fault suite's lab, down at the end whatever failed.
lab-faults-test: deps venv
	@rc=0; $(MOLECULE_LAB) test -s xen_faults || rc=$$?; \
	$(MOLECULE_LAB) destroy -s xen_faults; exit $$rc

# A user's inventory made of the lab: its host (the guests' inventory, which
# guests.mk writes) and its settings (lab/inventory: the group_vars that the
# scenario `xen` converged with, and a host_vars that leaves the guests
# alone). Mitogen here only to save time: the scenario itself runs stock.
LAB_DOM0_INVENTORY := .cache/xenlab/dom0-inventory
lab-dom0-test: venv $(GUESTS_LAB_INVENTORY)
	rm -rf $(LAB_DOM0_INVENTORY) && mkdir -p $(LAB_DOM0_INVENTORY)
	cp $(GUESTS_LAB_INVENTORY) $(LAB_DOM0_INVENTORY)/hosts.yml
	ln -s $(CURDIR)/lab/inventory/group_vars $(CURDIR)/lab/inventory/host_vars $(LAB_DOM0_INVENTORY)/
	XEN_DOM0_INVENTORY=$(CURDIR)/$(LAB_DOM0_INVENTORY) ANSIBLE_STRATEGY=mitogen_linear \
	  ANSIBLE_STRATEGY_PLUGINS=$(CURDIR)/.cache/mitogen-strategy $(MOLECULE_LAB) test -s dom0

lab-image:
	lab/build-image.sh

PROBE_ARGS ?=
lab-integrity-probe: venv .cache/xenlab/guests-inventory.yml
	ANSIBLE_PIPELINING=true $(VENV)/bin/ansible-playbook -i .cache/xenlab/guests-inventory.yml lab/integrity-probe.yml $(PROBE_ARGS)
