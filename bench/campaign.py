#!/usr/bin/env python3
"""HTTP side of bench/campaign (Python 3.11 standard library only).

    campaign.py append --url URL --key KEY --out FILE
    campaign.py load   --url URL --key KEY --pid PID --data-dir DIR --records N [--sort SPEC] [--uploads K] --out FILE
    campaign.py report --append FILE --load FILE --dequeue FILE [--command CMD]

`append` and `load` talk to a running dialerd over one keep-alive HTTP/1.1
connection each and write one JSON object to --out; `report` prints the
table. bench/campaign starts and stops the daemons.
"""

import argparse
import http.client
import json
import os
import resource
import sys
import threading
import time
import urllib.parse

SERVICE = {"id": "bench", "name": "Bench", "sort": "balance desc, last_name asc", "time_zone": "UTC"}
CSV_HEADER = b"phone1,account,last_name,balance\n"
CSV_CHUNK_ROWS = 5000


class Api:
    """One keep-alive connection; every call returns (status, parsed body, seconds)."""

    def __init__(self, url, key, timeout=600):
        u = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
        self.auth = {"Authorization": f"Bearer {key}"}

    def call(self, method, path, body=None, headers=None, **kw):
        h = dict(self.auth)
        h.update(headers or {})
        t = time.perf_counter()
        self.conn.request(method, path, body=body, headers=h, **kw)
        resp = self.conn.getresponse()
        data = resp.read()
        dt = time.perf_counter() - t
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = data.decode("utf-8", "replace")
        return resp.status, parsed, dt

    def json(self, method, path, obj, **kw):
        return self.call(method, path, json.dumps(obj).encode(), {"Content-Type": "application/json"}, **kw)

    def expect(self, want, method, path, obj=None):
        if obj is None:
            status, body, dt = self.call(method, path)
        else:
            status, body, dt = self.json(method, path, obj)
        if status != want:
            sys.exit(f"campaign.py: {method} {path} answered {status}, expected {want}: {body}")
        return body, dt


def ensure_service(api, sort=None):
    svc = dict(SERVICE)
    if sort is not None:
        svc["sort"] = sort
    status, body, _ = api.json("POST", "/v1/services", svc)
    if status not in (201, 409):
        sys.exit(f"campaign.py: POST /v1/services answered {status}: {body}")


def new_campaign(api, name):
    body, _ = api.expect(201, "POST", "/v1/campaigns",
                         {"service": "bench", "name": name, "allow_append": True, "trunks": ["local"]})
    return body["campaign"]["id"]


def record(i):
    return {"phone1": f"+1555{i:07d}", "account": f"A{i:07d}", "last_name": f"Name{(i * 104729) % 50000:05d}",
            "balance": f"{(i * 7919) % 100000}.{i % 100:02d}"}


def pct(sorted_values, p):
    if not sorted_values:
        return 0.0
    k = max(1, -(-len(sorted_values) * p // 100))  # nearest rank
    return sorted_values[int(k) - 1]


def cmd_append(a):
    api = Api(a.url, a.key)
    ensure_service(api)
    out = {}
    # 10,000 records as 100 calls of 100. Bodies are serialised before the
    # clock starts; the connection is warmed up by a first request.
    cid = new_campaign(api, "append-100x100")
    api.expect(200, "GET", f"/v1/campaigns/{cid}/stats")
    bodies = [json.dumps([record(c * 100 + i) for i in range(100)]).encode() for c in range(100)]
    lat = []
    t0 = time.perf_counter()
    for b in bodies:
        status, body, dt = api.call("PUT", f"/v1/campaigns/{cid}/records", b, {"Content-Type": "application/json"})
        if status != 204:
            sys.exit(f"campaign.py: append answered {status}: {body}")
        lat.append(dt * 1000)
    total = time.perf_counter() - t0
    stats, _ = api.expect(200, "GET", f"/v1/campaigns/{cid}/stats")
    s = sorted(lat)
    out["small"] = {"calls": len(lat), "records": stats["loaded"], "p50_ms": pct(s, 50), "p99_ms": pct(s, 99),
                    "max_ms": s[-1], "mean_ms": sum(s) / len(s), "total_s": total,
                    "records_per_s": 10000 / total, "body_bytes": len(bodies[0])}
    # One call of 10,000 records, three times, each into a fresh campaign.
    singles = []
    for run in range(3):
        cid = new_campaign(api, f"append-10000-{run + 1}")
        api.expect(200, "GET", f"/v1/campaigns/{cid}/stats")
        body = json.dumps([record(1_000_000 + run * 10000 + i) for i in range(10000)]).encode()
        status, resp, dt = api.call("PUT", f"/v1/campaigns/{cid}/records", body, {"Content-Type": "application/json"})
        if status != 204:
            sys.exit(f"campaign.py: 10,000-record append answered {status}: {resp}")
        stats, _ = api.expect(200, "GET", f"/v1/campaigns/{cid}/stats")
        singles.append({"ms": dt * 1000, "records": stats["loaded"], "body_bytes": len(body)})
    out["single"] = singles
    write(a.out, out)


def proc_status(pid):
    """VmRSS and VmHWM in KiB."""
    v = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                k, n = line.split()[:2]
                v[k[:-1]] = int(n)
    return v


def proc_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def db_bytes(data_dir):
    total = 0
    for name in ("dialerd.db", "dialerd.db-wal", "dialerd.db-shm"):
        try:
            total += os.path.getsize(os.path.join(data_dir, name))
        except OSError:
            pass
    return total


def csv_chunks(n, counter, marks):
    """The CSV body, generated as it is sent: chunks of 5,000 rows (~200 KB).
    marks gets (rows handed to the socket, time) each time a chunk is asked
    for: the upload streams, so this follows dialerd's progress (give or take
    the socket buffers)."""
    yield CSV_HEADER
    for start in range(0, n, CSV_CHUNK_ROWS):
        marks.append((start, time.perf_counter()))
        end = min(n, start + CSV_CHUNK_ROWS)
        chunk = "".join(
            f"+4420{i:08d},A{i:07d},Name{(i * 104729) % 50000:05d},{(i * 7919) % 100000}.{i % 100:02d}\n"
            for i in range(start, end)
        ).encode()
        counter[0] += len(chunk)
        yield chunk


def tenths(marks, n, t0, t_end):
    """Rows per second over each tenth of the upload."""
    points = [(0, t0)] + [m for m in marks if m[0] > 0] + [(n, t_end)]
    out = []
    for k in range(1, 11):
        lo, hi = n * (k - 1) / 10, n * k / 10
        a = min(points, key=lambda p: abs(p[0] - lo))
        b = min(points, key=lambda p: abs(p[0] - hi))
        out.append((b[0] - a[0]) / (b[1] - a[1]) if b[1] > a[1] else 0.0)
    return out


def cmd_load(a):
    api = Api(a.url, a.key, timeout=3600)
    ensure_service(api, a.sort)
    out = one_load(api, a, 1)
    out["repeats"] = [one_load(api, a, k) for k in range(2, a.uploads + 1)]
    write(a.out, out)


def one_load(api, a, k):
    """Uploads a.records rows into a fresh campaign; the figures as a dict."""
    cid = new_campaign(api, f"load-{a.records}-{k}")
    api.expect(200, "GET", f"/v1/campaigns/{cid}/stats")
    time.sleep(1)
    before = proc_status(a.pid)
    cpu0 = proc_cpu(a.pid)
    samples = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            try:
                samples.append((time.perf_counter(), proc_status(a.pid)["VmRSS"]))
            except OSError:
                return
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    sent = [len(CSV_HEADER)]
    marks = []
    me0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    status, built, dt = api.call("POST", f"/v1/campaigns/{cid}/upload", csv_chunks(a.records, sent, marks),
                                 {"Content-Type": "text/csv"}, encode_chunked=True)
    elapsed = time.perf_counter() - t0
    me1 = resource.getrusage(resource.RUSAGE_SELF)
    stop.set()
    sampler.join()
    if status != 200:
        sys.exit(f"campaign.py: upload answered {status}: {built}")
    cpu = proc_cpu(a.pid) - cpu0
    right_after = proc_status(a.pid)
    status, stats, stats_s = api.call("GET", f"/v1/campaigns/{cid}/stats")
    time.sleep(5)
    settled = proc_status(a.pid)
    peak_sample = max((r for _, r in samples), default=0)
    out = {
        "records": a.records,
        "csv_bytes": sent[0],
        "seconds": elapsed,
        "rows_per_s": a.records / elapsed,
        "rows_per_s_by_tenth": tenths(marks, a.records, t0, t0 + elapsed),
        "sort": a.sort,
        "uploaded": built.get("uploaded"),
        "loaded": built.get("loaded"),
        "rejected": built.get("rejected"),
        "stats_loaded": stats.get("loaded") if isinstance(stats, dict) else None,
        "stats_ms": stats_s * 1000,
        "rss_before_kib": before["VmRSS"],
        "hwm_before_kib": before["VmHWM"],
        "rss_peak_sampled_kib": peak_sample,
        "hwm_after_kib": right_after["VmHWM"],
        "rss_right_after_kib": right_after["VmRSS"],
        "rss_after_5s_kib": settled["VmRSS"],
        "dialerd_cpu_s": cpu,
        "client_cpu_s": (me1.ru_utime - me0.ru_utime) + (me1.ru_stime - me0.ru_stime),
        "db_bytes": db_bytes(a.data_dir),
        "db_main_bytes": os.path.getsize(os.path.join(a.data_dir, "dialerd.db")),
    }
    if out["loaded"] != a.records or out["stats_loaded"] != a.records:
        print(f"campaign.py: WARNING: {a.records} rows sent, upload says loaded={out['loaded']} "
              f"rejected={out['rejected']}, stats say loaded={out['stats_loaded']}", file=sys.stderr)
    return out


def write(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)
        f.write("\n")


def read(path):
    try:
        with open(path) as f:
            return json.loads(f.read().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        return None


def mb(kib):
    return f"{kib / 1024:,.1f} MiB"


def cmd_report(a):
    ap, ld, dq = read(a.append), read(a.load), read(a.dequeue)
    rows = []
    if ap:
        s = ap["small"]
        rows.append(("append: 100 calls x 100 records, p50 / p99 / max per call",
                     f"{s['p50_ms']:.1f} / {s['p99_ms']:.1f} / {s['max_ms']:.1f} ms", "p99 <= 50 ms"))
        rows.append(("append: 100 x 100, throughput",
                     f"{s['records_per_s']:,.0f} records/s ({s['total_s']:.2f} s, {s['records']:,} loaded)", ""))
        singles = " / ".join(f"{x['ms']:.0f}" for x in ap["single"])
        rows.append(("append: 1 call x 10,000 records (3 runs, fresh campaigns)", f"{singles} ms", ""))
    if ld:
        n = ld["records"]
        rows.append((f"upload: {n:,} CSV rows ({ld['csv_bytes'] / 1e6:.1f} MB, chunked)",
                     f"{ld['seconds']:.1f} s, {ld['rows_per_s']:,.0f} rows/s", ""))
        rows.append(("upload: rows/s over each tenth of the file",
                     " ".join(f"{r / 1000:.0f}k" for r in ld["rows_per_s_by_tenth"]), ""))
        rows.append(("upload: service sort", ld["sort"] or "upload order", ""))
        rows.append(("upload: loaded / rejected", f"{ld['loaded']:,} / {ld['rejected']:,}", ""))
        rows.append(("dialerd RSS before (VmRSS)", mb(ld["rss_before_kib"]), ""))
        rows.append(("dialerd RSS peak (VmHWM after the upload)",
                     f"{mb(ld['hwm_after_kib'])} (sampled max {mb(ld['rss_peak_sampled_kib'])})",
                     "<= 200 MB" if n >= 1_000_000 else ""))
        rows.append(("dialerd RSS after (right after / 5 s later)",
                     f"{mb(ld['rss_right_after_kib'])} / {mb(ld['rss_after_5s_kib'])}", ""))
        rows.append(("dialerd CPU during the upload", f"{ld['dialerd_cpu_s']:.1f} s (client {ld['client_cpu_s']:.1f} s)", ""))
        rows.append(("database files after the upload", f"{ld['db_bytes'] / 1e6:,.1f} MB "
                                                        f"(dialerd.db {ld['db_main_bytes'] / 1e6:,.1f} MB)", ""))
        rows.append((f"GET stats on the {n:,}-record campaign", f"{ld['stats_ms']:.0f} ms", ""))
        for k, r in enumerate(ld.get("repeats", []), start=2):
            rows.append((f"upload {k} (same daemon, fresh campaign): time, RSS before / peak / after",
                         f"{r['seconds']:.1f} s, {mb(r['rss_before_kib'])} / {mb(r['rss_peak_sampled_kib'])} / "
                         f"{mb(r['rss_after_5s_kib'])}", ""))
    if dq:
        n = dq["records"]
        rows.append((f"dequeue: fetch alone (promote_due + fetch_ready 100), {n:,} records",
                     f"{dq['fetch_records_per_s']:,.0f} records/s (refill p50 {dq['refill_us_p50']:.0f} us, "
                     f"p99 {dq['refill_us_p99']:.0f} us)", ""))
        rows.append(("dequeue: full cycle (refill + begin_attempt + finish_attempt)",
                     f"{dq['cycle_records_per_s']:,.0f} records/s (per record p50 {dq['cycle_record_us_p50']:.0f} us, "
                     f"p99 {dq['cycle_record_us_p99']:.0f} us, max {dq['cycle_record_us_max'] / 1000:.0f} ms)", ""))
        if "checks_records_per_s" in dq:
            rows.append(("dequeue: cycle + dnc_find + attempts_since per record",
                         f"{dq['checks_records_per_s']:,.0f} records/s (per record p50 {dq['checks_record_us_p50']:.0f} us, "
                         f"p99 {dq['checks_record_us_p99']:.0f} us)", ""))
        rows.append(("dequeue: store insert (batches of 1,000)", f"{dq['insert_rows_per_s']:,.0f} rows/s", ""))
    if not rows:
        print("no results")
        return
    w = max(len(r[0]) for r in rows)
    v = max(len(r[1]) for r in rows)
    print(f"{'measure':<{w}}  {'result':<{v}}  target")
    print(f"{'-' * w}  {'-' * v}  ------")
    for name, value, target in rows:
        print(f"{name:<{w}}  {value:<{v}}  {target}".rstrip())
    if a.command:
        print(f"\ncommand: {a.command}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("append")
    s.add_argument("--url", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--out", required=True)
    s = sub.add_parser("load")
    s.add_argument("--url", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--pid", type=int, required=True)
    s.add_argument("--data-dir", required=True)
    s.add_argument("--records", type=int, default=1_000_000)
    s.add_argument("--sort", default=SERVICE["sort"], help="the service's sort ('' for upload order)")
    s.add_argument("--uploads", type=int, default=1, help="successive uploads, each into a fresh campaign")
    s.add_argument("--out", required=True)
    s = sub.add_parser("report")
    s.add_argument("--append")
    s.add_argument("--load")
    s.add_argument("--dequeue")
    s.add_argument("--command")
    a = p.parse_args()
    {"append": cmd_append, "load": cmd_load, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    main()
