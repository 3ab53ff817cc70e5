#!/usr/bin/env python3
"""The conntrack evidence behind tests/nat/README.md ("--bare"), with plain UDP sockets:

    tests/tools/netns-nat --bare python3 tests/nat/bare_evidence.py [RACE_TRIALS]

1. poison: h1 -> h2's public port, then h2 -> h1's: both routers' tables after each.
2. ttl: a TTL=1 datagram makes no entry; TTL=2 reaches the other router; TTL=1 refreshes
   an existing entry (its seconds left go back up) without touching the other router.
3. hold-and-wait: after a failed punch h1 refreshes its entry with TTL=1 every 5 s while
   nat2's entries expire (nf_conntrack_udp_timeout, read there); then h2 punches again.
4. race: both first datagrams planned for the same instant (busy-wait on the shared
   monotonic clock): the measured gap between the two sends against the result.
Runs ~75 s plus ~0.7 s per race trial (default 20). Not run by ctest: it prints, it does
not judge. A helper process per host ("--agent PORT") owns the socket."""
import os, re, socket, subprocess, sys, threading, time

if len(sys.argv) == 3 and sys.argv[1] == "--agent":
    # stdin: "send IP PORT TTL TEXT" (TTL 0: default) or "sendat MONO_NS IP PORT TEXT";
    # stdout: "got IP PORT TEXT", "sentat LATE_NS".
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(sys.argv[2])))
    dflt = s.getsockopt(socket.SOL_IP, socket.IP_TTL)
    out = threading.Lock()
    def say(line):
        with out:
            print(line, flush=True)
    def reader():
        while True:
            try:
                d, fr = s.recvfrom(2000)
                say(f"got {fr[0]} {fr[1]} {d.decode(errors='replace')}")
            except OSError:
                pass
    threading.Thread(target=reader, daemon=True).start()
    say("ready")
    for line in sys.stdin:
        a = line.split()
        if a and a[0] == "sendat":
            t = int(a[1])
            while time.clock_gettime_ns(time.CLOCK_MONOTONIC) < t:
                pass
            t1 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            s.sendto(a[4].encode(), (a[2], int(a[3])))
            say(f"sentat {t1 - t}")
        elif a and a[0] == "send":
            s.setsockopt(socket.SOL_IP, socket.IP_TTL, int(a[3]) or dflt)
            s.sendto(" ".join(a[4:]).encode(), (a[1], int(a[2])))
            s.setsockopt(socket.SOL_IP, socket.IP_TTL, dflt)
            say("sent")
    sys.exit(0)

E = os.environ
if E.get("NETNS_MODE") != "bare":
    sys.exit("run me inside tests/tools/netns-nat --bare")
A_WAN, B_WAN = E["NETNS_H1_PUBLIC"], E["NETNS_H2_PUBLIC"]

class Agent:
    def __init__(self, ns, port):
        self.p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, __file__, "--agent", str(port)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.lines, self.ready, self.sent = [], threading.Event(), threading.Semaphore(0)
        threading.Thread(target=self._read, daemon=True).start()
        self.ready.wait(10)
    def _read(self):
        for l in self.p.stdout:
            if l.startswith("ready"):
                self.ready.set()
            elif l.startswith("sent\n") or l.strip() == "sent":
                self.sent.release()
            else:
                self.lines.append(l.strip())
    def cmd(self, c):
        self.p.stdin.write(c + "\n")
        self.p.stdin.flush()
    def send(self, ip, port, text, ttl=0):
        # returns once the agent's sendto returned (its "sent" line)
        self.cmd(f"send {ip} {port} {ttl} {text}")
        if not self.sent.acquire(timeout=5):
            sys.exit("an agent did not send within 5 s")
    def got(self):
        return [l for l in self.lines if l.startswith("got")]
    def close(self):
        self.p.kill()

def table(ns, ports):
    rows = subprocess.run(["ip", "netns", "exec", ns, "cat", "/proc/net/nf_conntrack"],
                          capture_output=True, text=True).stdout.splitlines()
    return [" ".join(r.split()[2:3] + r.split()[4:-3]) for r in rows
            if " udp " in r and any(f"port={p} " in r for p in ports)]

def settle(ports, deadline=1.0):
    """Waits until both routers' rows for `ports` read the same twice in a row
    (the datagrams just sent have crossed the routers), at most `deadline` s."""
    end, last = time.monotonic() + deadline, None
    while time.monotonic() < end:
        now = [table(E["NETNS_" + n], ports) for n in ("NAT1", "NAT2")]
        now = [[" ".join(w for w in r.split() if not w.isdigit()) for r in t] for t in now]  # timers tick
        if now == last:
            return
        last = now
        time.sleep(0.02)

def wait_got(agents, deadline=1.0):
    """Waits until every agent received a datagram, at most `deadline` s
    (a poisoned path receives nothing: the deadline is the answer)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end and not all(x.got() for x in agents):
        time.sleep(0.01)

def show(title, ports):
    print(title)
    for n in ("NAT1", "NAT2"):
        print(f"  {n.lower()}:")
        for r in table(E["NETNS_" + n], ports):
            print("    " + r)

timeout = int(subprocess.run(["ip", "netns", "exec", E["NETNS_NAT2"], "sysctl", "-n",
                              "net.netfilter.nf_conntrack_udp_timeout"], capture_output=True, text=True).stdout)
print(f"nat2 nf_conntrack_udp_timeout = {timeout} s\n")

print("== 1. poison")
a, b = Agent(E["NETNS_H1"], 40001), Agent(E["NETNS_H2"], 40002)
a.send(B_WAN, 40002, "a1"); settle([40001, 40002])
show("after h1:40001 -> nat2:40002", [40001, 40002])
b.send(A_WAN, 40001, "b1"); settle([40001, 40002])
show("after h2:40002 -> nat1:40001", [40001, 40002])
a.send(B_WAN, 40002, "a2"); b.send(A_WAN, 40001, "b2"); wait_got([a, b])
print(f"both again; h1 got {a.got()}, h2 got {b.got()}\n")
a.close(); b.close()

print("== 2. ttl")
a = Agent(E["NETNS_H1"], 40011)
a.send(B_WAN, 40012, "t1", ttl=1); settle([40011])
show("after h1:40011 -> nat2:40012 with TTL=1 only", [40011])
a.send(B_WAN, 40013, "t2", ttl=2); settle([40011])
show("after h1:40011 -> nat2:40013 with TTL=2", [40011])
time.sleep(5)  # the experiment: the entry ages 5 s before the TTL=1 refresh
a.send(B_WAN, 40013, "t3", ttl=1); settle([40011])
show("5 s later, right after h1:40011 -> nat2:40013 with TTL=1", [40011])
a.close()
print()

print("== 3. hold-and-wait")
a, b = Agent(E["NETNS_H1"], 40021), Agent(E["NETNS_H2"], 40022)
a.send(B_WAN, 40022, "punch"); settle([40021, 40022]); b.send(A_WAN, 40021, "punch"); settle([40021, 40022])
t0 = time.time()
show("t=0 s, the failed punch", [40021])
k = 0
while time.time() - t0 < timeout + 2:
    if time.time() - t0 >= k * 5:
        a.send(B_WAN, 40022, "keep", ttl=1)
        k += 1
    time.sleep(0.05)  # the experiment's clock: a TTL=1 keep-alive every 5 s
show(f"t={time.time() - t0:.0f} s, after {k} TTL=1 datagrams from h1", [40021])
b.send(A_WAN, 40021, "late-punch"); wait_got([a])
a.send(B_WAN, 40022, "answer"); wait_got([a, b])
show("after h2 -> nat1:40021 and h1's answer", [40021])
print(f"h1 got {a.got()}, h2 got {b.got()}\n")
a.close(); b.close()

trials = int(sys.argv[1]) if len(sys.argv) > 1 else 20
print(f"== 4. race ({trials} trials)")
rows, port = [], 42000
for i in range(trials):
    port += 2
    a, b = Agent(E["NETNS_H1"], port), Agent(E["NETNS_H2"], port + 1)
    t = time.clock_gettime_ns(time.CLOCK_MONOTONIC) + 300_000_000
    a.cmd(f"sendat {t} {B_WAN} {port + 1} a"); b.cmd(f"sendat {t} {A_WAN} {port} b")
    while sum(1 for x in (a, b) for l in x.lines if l.startswith("sentat")) < 2:
        time.sleep(0.01)  # both timed sends done (they fire 300 ms from now)
    settle([port, port + 1])
    a.send(B_WAN, port + 1, "a2"); b.send(A_WAN, port, "b2"); wait_got([a, b])
    late = [[int(m.group(1)) for l in x.lines for m in [re.search(r"sentat (\d+)", l)] if m] for x in (a, b)]
    if late[0] and late[1]:
        rows.append(((late[1][0] - late[0][0]) / 1000, bool(a.got() and b.got())))
    a.close(); b.close()
for gap, ok in sorted(rows, key=lambda r: abs(r[0])):
    print(f"  gap between the sends {gap:+9.1f} us: {'both ways open' if ok else 'poisoned'}")
print(f"  opened {sum(ok for _, ok in rows)}/{len(rows)}")
