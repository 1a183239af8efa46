# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# Guest modules and the xen_guests role.
#   make guests-local   real loop mounts, sparse grow, e2fsck/resize2fs on image files in a temp dir
#                       (root, no hypervisor; a stub `xl list` says which guests "run")
#   make guests-lab     the live lifecycle and the role (twice: second run changed=0) on the running lab
#   make inventory-lab  the xen inventory plugin on the running lab: a guest it finds, reached through the dom0
GUESTS_LAB_INVENTORY := .cache/xenlab/guests-inventory.yml

.PHONY: guests-local guests-lab inventory-lab
guests-local: venv
	$(VENV)/bin/ansible-playbook -i localhost, tests/integration/offline_local.yml

# ServerAliveInterval: a dom0 that reboots under a task (fault 3) closes no
# TCP connection through QEMU's user network; without it ssh waits forever.
$(GUESTS_LAB_INVENTORY): .cache/xenlab/ssh.env mk/guests.mk
	@set -e; . ./.cache/xenlab/ssh.env; \
	printf '%s\n' 'all:' '  children:' '    xen_dom0:' '      hosts:' '        dom0:' \
	  '          ansible_host: 127.0.0.1' "          ansible_port: $$XENLAB_SSH_PORT" \
	  '          ansible_user: root' "          ansible_ssh_private_key_file: $$XENLAB_SSH_KEY" \
	  '          ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ServerAliveInterval=30' \
	  '          ansible_python_interpreter: /usr/bin/python3' > $@

guests-lab: venv $(GUESTS_LAB_INVENTORY)
	$(VENV)/bin/ansible-playbook -i $(GUESTS_LAB_INVENTORY) tests/integration/guests.yml
	$(VENV)/bin/ansible-playbook -i $(GUESTS_LAB_INVENTORY) tests/integration/guests_role.yml --check
	$(VENV)/bin/ansible-playbook -i $(GUESTS_LAB_INVENTORY) tests/integration/guests_role.yml
	@set -o pipefail; $(VENV)/bin/ansible-playbook -i $(GUESTS_LAB_INVENTORY) tests/integration/guests_role.yml \
	  | tee .cache/xenlab/guests-role-second.log | tail -3; \
	grep -Eq 'changed=0 .*failed=0' .cache/xenlab/guests-role-second.log \
	  || { echo "guests-lab: the second run of the xen_guests role changed something" >&2; exit 1; }
	$(VENV)/bin/ansible-playbook -i $(GUESTS_LAB_INVENTORY) tests/integration/guests_role_absent.yml

# The guest is removed whatever the play did, so a re-run starts clean.
XEN_INVENTORY_TEST := tests/integration/xen_inventory
inventory-lab: venv $(GUESTS_LAB_INVENTORY)
	@rc=0; $(VENV)/bin/ansible-playbook -i $(GUESTS_LAB_INVENTORY) -i $(XEN_INVENTORY_TEST)/lab.xen.yml \
	  $(XEN_INVENTORY_TEST)/lab.yml || rc=$$?; \
	$(VENV)/bin/ansible-playbook -i $(GUESTS_LAB_INVENTORY) tests/integration/guests_role_absent.yml \
	  -e guests_role_absent_name=kxinv1 || rc=$$?; exit $$rc
