#!/usr/bin/env python3
# Where one statement's time goes at `pgbench -c 1`, read off the gateway's own system calls: from
# `perf record` of syscall tracepoints on its main thread (docs/performance.md, "Where a -c 1
# statement's time goes"). For each statement: Q, client read → upstream write (parse, decide, record
# the statement, forward); U, upstream write → upstream read (PostgreSQL and the hops); R, upstream
# read → client write (the answer, masked); C, client write → the client's next read (the client's
# turnaround, and the gateway's work after the answer when it holds the CPU the client was woken on);
# PF and PR, a write → the next epoll_wait (work after forwarding, after answering).
#
#   perf record -e 'syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_epoll_pwait' \
#     -t <gateway pid> -o /tmp/t.data -- sleep 2          (while pgbench -n -S -c 1 runs)
#   perf script -i /tmp/t.data > /tmp/t.txt
#   python3 bench/syscall-cycle.py /tmp/t.txt <client fd> <upstream fd>    (fds in hex or decimal:
#     `ls -l /proc/<pid>/fd` and `ss -tnp` name the two sockets of the session)
import re
import statistics
import sys


def fd_arg(s: str) -> int:
    return int(s, 16) if s.lower().startswith('0x') else int(s)


path, CLIENT, UP = sys.argv[1], fd_arg(sys.argv[2]), fd_arg(sys.argv[3])
events = []
for line in open(path):
    m = re.search(r'\s(\d+\.\d+):\s+syscalls:(sys_\w+): (.*)', line)
    if not m:
        continue
    fm = re.search(r'fd: 0x([0-9a-f]+)', m.group(3))
    events.append((float(m.group(1)), m.group(2), int(fm.group(1), 16) if fm else None))

# The cycle's four points in order; the stretch that ends at a point began at the point before it.
POINTS = [
    ('sys_enter_read', CLIENT, 'C'),
    ('sys_enter_write', UP, 'Q'),
    ('sys_enter_read', UP, 'U'),
    ('sys_enter_write', CLIENT, 'R'),
]
stretches = {label: [] for _, _, label in POINTS}
PF, PR = [], []
seen = {}
pending = None
for t, name, fd in events:
    for i, (call, on, label) in enumerate(POINTS):
        if name == call and fd == on:
            before = seen.pop((i - 1) % len(POINTS), None)
            if before is not None:
                stretches[label].append(t - before)
            seen[i] = t
    if name == 'sys_enter_write' and fd in (CLIENT, UP):
        pending = (t, fd)
    elif name == 'sys_enter_epoll_pwait' and pending is not None:
        (PR if pending[1] == CLIENT else PF).append(t - pending[0])
        pending = None
    elif name == 'sys_enter_read':
        pending = None


def show(label: str, xs: list) -> None:
    if not xs:
        print(f'{label}: none')
        return
    xs = sorted(xs)
    n = len(xs)
    print(f'{label}: n={n} p10={xs[n // 10] * 1e6:.0f} p50={xs[n // 2] * 1e6:.0f} '
          f'p90={xs[n * 9 // 10] * 1e6:.0f} mean={statistics.mean(xs) * 1e6:.0f} µs')


show('Q  client read → upstream write', stretches['Q'])
show('U  upstream write → upstream read', stretches['U'])
show('R  upstream read → client write', stretches['R'])
show('C  client write → next client read', stretches['C'])
show('PF upstream write → epoll_wait', PF)
show('PR client write → epoll_wait', PR)
