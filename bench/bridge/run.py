#!/usr/bin/env python3
"""bench/bridge: concurrent bridged calls (B2BUA) on loopback.

For each step of N bridges: dialerd places N agent calls (SIPp answers
PCMU and streams audio without pause) and N customer calls (SIPp answers
PCMA, or PCMU with MODE=passthrough, and echoes), bridges them pairwise
through its API, and after a warm-up measures over WINDOW seconds:
dialerd's CPU (utime + stime from /proc), CPU per bridge, datagrams
relayed per second and the relay latency (dialerd_bridge_relay_seconds:
read on one leg's socket to sent on the other's), plus SIPp's CPU for the
same traffic. Then it hangs every call up and goes on.

    bench/bridge/run.py                       # STEPS="50 100 200" WINDOW=15
    STEPS="10" WINDOW=5 bench/bridge/run.py   # smoke run
    MODE=passthrough bench/bridge/run.py      # both legs PCMU: no transcoding

Python 3 standard library, sipp, sox and cargo. Loopback only.
"""

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.dirname(os.path.abspath(__file__))
KEY = "bench-key-0123456789"
TICK = os.sysconf("SC_CLK_TCK")
STEPS = [int(s) for s in os.environ.get("STEPS", "50 100 200").split()]
WINDOW = float(os.environ.get("WINDOW", "15"))
WARMUP = float(os.environ.get("WARMUP", "3"))
MODE = os.environ.get("MODE", "transcode")


def free_port(kind=socket.SOCK_DGRAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Api:
    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method, path, body=None):
        headers = {"Authorization": f"Bearer {KEY}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        if resp.headers.get("Content-Type", "").startswith("application/json"):
            return resp.status, json.loads(raw)
        return resp.status, raw.decode()


def histogram(text, name):
    """Cumulative bucket counts by upper bound, and the count."""
    buckets, count = {}, 0.0
    for line in text.splitlines():
        m = re.match(rf'{name}_bucket\{{le="([^"]+)"\}} (\S+)', line)
        if m:
            buckets[float(m.group(1))] = float(m.group(2))
        elif line.startswith(f"{name}_count"):
            count = float(line.split()[-1])
    return buckets, count


def quantile(before, after, q):
    total = after[float("inf")] - before.get(float("inf"), 0.0)
    if total <= 0:
        return float("nan")
    for le in sorted(after):
        if after[le] - before.get(le, 0.0) >= q * total:
            return le
    return float("inf")


def main():
    for tool in ("sipp", "sox"):
        if not shutil.which(tool):
            sys.exit(f"bench/bridge: {tool} is missing (Debian: sip-tester, sox)")
    if not os.environ.get("SKIP_BUILD"):
        subprocess.run(["cargo", "build", "--release", "--bin", "dialerd"], cwd=ROOT, check=True)
    tmp = tempfile.mkdtemp(prefix="dialerd-bridge-")
    audio = os.path.join(tmp, "talk.ul")
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-e", "mu-law", "-t", "raw", audio,
                    "synth", "10", "sine", "440", "vol", "0.3"], check=True)
    codec = ("PCMU", "0") if MODE == "passthrough" else ("PCMA", "8")
    scen = {}
    for name, repl in (("agent", {"@AUDIO@": audio}), ("customer", {"@CODEC@": codec[0], "@PT@": codec[1]})):
        text = open(os.path.join(HERE, f"{name}.xml")).read()
        for k, v in repl.items():
            text = text.replace(k, v)
        scen[name] = os.path.join(tmp, f"{name}.xml")
        open(scen[name], "w").write(text)

    agents_port, customers_port, echo_port = free_port(), free_port(), free_port()
    sipps = [
        subprocess.Popen(["sipp", "-sf", scen["agent"], "-i", "127.0.0.1", "-p", str(agents_port), "-nostdin"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp),
    ]
    sipps.append(subprocess.Popen(["sipp", "-sf", scen["customer"], "-i", "127.0.0.1", "-p", str(customers_port),
                                  "-mp", str(echo_port), "-rtp_echo", "-nostdin"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp))
    os.makedirs(os.path.join(tmp, "dialplans"))
    open(os.path.join(tmp, "dialplans", "hold.toml"), "w").write(
        'description = "Hold until bridged"\nstart = "hold"\n[nodes.hold]\nkind = "pause"\nseconds = 600\n'
        'next = "done"\n[nodes.done]\nkind = "hangup"\n')
    http_port = free_port(socket.SOCK_STREAM)
    cfg = f"""
[log]
level = "warn"
[sip]
listen = "127.0.0.1:{free_port()}"
[api]
listen = "127.0.0.1:{http_port}"
keys = ["{KEY}"]
[storage]
data_dir = "{tmp}/var"
[media]
prompts_dir = "{ROOT}/dialplans/prompts"
rtp_port_min = 20000
rtp_port_max = 29999
[calls]
max_active = 10000
[dialplans]
dir = "{tmp}/dialplans"
[[trunks]]
name = "agents"
address = "127.0.0.1:{agents_port}"
max_concurrent = 5000
max_cps = 1000
[[trunks]]
name = "customers"
address = "127.0.0.1:{customers_port}"
max_concurrent = 5000
max_cps = 1000
"""
    cfg_path = os.path.join(tmp, "dialerd.toml")
    open(cfg_path, "w").write(cfg)
    dialerd = subprocess.Popen([os.path.join(ROOT, "target/release/dialerd"), "--config", cfg_path],
                               stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "dialerd.log"), "w"))
    time.sleep(0.3)
    sipp_pids = [p.pid for p in sipps]
    try:
        api = Api(http_port)
        for _ in range(100):
            try:
                if api.call("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                api = Api(http_port)
            time.sleep(0.1)
        print(f"# bench/bridge  mode={MODE}  window={WINDOW:.0f}s  ({os.cpu_count()} CPUs)")
        print(f"{'bridges':>7} {'dialerd CPU':>11} {'CPU/bridge':>10} {'relayed/s':>9} "
              f"{'p50 µs':>7} {'p99 µs':>7} {'SIPp CPU':>8}")
        for n in STEPS:
            step(api, dialerd.pid, sipp_pids, n)
    finally:
        dialerd.terminate()
        dialerd.wait(timeout=30)
        for p in sipps:
            p.terminate()
            p.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


def step(api, pid, sipp_pids, n):
    legs = []
    for i in range(n):
        ids = []
        for to, trunk in ((f"+1555{i:07d}", "agents"), (f"+1666{i:07d}", "customers")):
            s, body = api.call("POST", "/v1/calls", {"to": to, "trunk": trunk, "dialplan": "hold"})
            if s != 201:
                sys.exit(f"bench/bridge: POST /v1/calls answered {s}: {body}")
            ids.append(body["id"])
        legs.append(tuple(ids))
    deadline = time.time() + 30
    for a, c in legs:
        for call in (a, c):
            while api.call("GET", f"/v1/calls/{call}")[1]["state"] != "answered":
                if time.time() > deadline:
                    sys.exit(f"bench/bridge: call {call} did not answer")
                time.sleep(0.02)
    for a, c in legs:
        s, body = api.call("POST", f"/v1/calls/{a}/bridge", {"with": c})
        if s != 200:
            sys.exit(f"bench/bridge: bridge {a} {c}: {s} {body}")
    time.sleep(WARMUP)
    sipp_cpu = lambda: sum(cpu_seconds(p) for p in sipp_pids if os.path.exists(f"/proc/{p}"))
    before_hist, before_n = histogram(api.call("GET", "/metrics")[1], "dialerd_bridge_relay_seconds")
    c0, s0, t0 = cpu_seconds(pid), sipp_cpu(), time.time()
    time.sleep(WINDOW)
    c1, s1, t1 = cpu_seconds(pid), sipp_cpu(), time.time()
    after_hist, after_n = histogram(api.call("GET", "/metrics")[1], "dialerd_bridge_relay_seconds")
    dt = t1 - t0
    cpu = (c1 - c0) / dt
    print(f"{n:>7} {cpu * 100:>10.1f}% {cpu * 100 / n:>9.2f}% {(after_n - before_n) / dt:>9.0f} "
          f"{quantile(before_hist, after_hist, 0.5) * 1e6:>7.0f} {quantile(before_hist, after_hist, 0.99) * 1e6:>7.0f} "
          f"{(s1 - s0) / dt * 100:>7.1f}%", flush=True)
    for a, c in legs:
        api.call("DELETE", f"/v1/calls/{a}")
        api.call("DELETE", f"/v1/calls/{c}")
    time.sleep(2)


if __name__ == "__main__":
    main()
