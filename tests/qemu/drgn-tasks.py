#!/usr/bin/python3
"""Open a dump with drgn and the vmlinux, print the banner and walk the task
list; exit 1 unless more than one task is found."""
import sys

import drgn
from drgn.helpers.linux.pid import for_each_task

prog = drgn.Program()
prog.set_core_dump(sys.argv[1])
prog.load_debug_info([sys.argv[2]])
print(prog["linux_banner"].string_().decode().strip())
tasks = [t.comm.string_().decode() for t in for_each_task(prog)]
print("tasks: %d (%s)" % (len(tasks), ", ".join(sorted(set(tasks))[:8])))
sys.exit(0 if len(tasks) > 1 else 1)
