#!/usr/bin/env python3
"""The edge benchmark driver (run it through bench/run, which builds first).

Everything runs on loopback. Sections (command-line arguments; default all):

  proxy       small GETs through the edge, nginx and Caddy (each terminating
              TLS with the same ECDSA P-256 certificate, the same worker
              count, proxying to one static nginx upstream) and the upstream
              hit directly: HTTP/1.1 keep-alive and a new connection per
              request (wrk), HTTP/2 (h2load).
  handshakes  full TLS 1.3 handshakes/s (new connection, one request each,
              server name drawn at random) with 1, 10 000 and 100 000 stored
              certificates, and with the ClientHello hook off.
  memory      edge RSS with 0, 10 000 and 100 000 stored certificates after
              10 000 of them were served: bytes per cached certificate.
  startup     time from start to the first handshake, 0 against 100 000
              stored certificates.
  portal      the portal's ticket list and dashboard for a client company
              with 10 000 tickets against the static sign-in page (wrk,
              keep-alive, straight to the portal).
  handoff     one-time-token exchanges/s (tokens issued in bulk beforehand,
              each exchanged once) against proxied GETs/s on the same edge,
              on SQLite and on PostgreSQL (127.0.0.1:5432, a database of its
              own, created and dropped).

Each figure is measured in rounds (BENCH_ROUNDS, default 5, of BENCH_SECONDS,
default 5 s); within a round every target runs once, the order rotating from
round to round; a ratio is the median of the per-round ratios, an absolute
figure the median of its rounds. Results: bench/results/latest.json (every
figure) and latest.md (the table).
"""

import atexit
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RELEASE = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release"
PORTA = RELEASE / "porta"
TOOL = RELEASE / "porta-bench"
WORK = Path(os.environ.get("BENCH_WORK", "/tmp/porta-bench"))
RESULTS = ROOT / "bench" / "results"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
WORKERS = int(os.environ.get("BENCH_WORKERS", str(os.cpu_count() or 1)))
HOST = "bench.portal.localhost"
HANDOFF_DOMAIN = "portal.handoff.localhost"
TOKENS = int(os.environ.get("BENCH_TOKENS", "40000"))
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/test")
MASTER_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
# Extra edge.* keys for every edge (e.g. BENCH_EDGE_EXTRA='read_buffer_bytes = 16384').
EDGE_EXTRA = os.environ.get("BENCH_EDGE_EXTRA", "")

UPSTREAM_H1, UPSTREAM_H2C = 18080, 18082
NGINX_TLS, CADDY_TLS, BARE_TLS = 18444, 18445, 18446


def log(*args):
    print("bench:", *args, file=sys.stderr, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


RUNNING = []


class Proc:
    """A server this driver started; stopped by its own pid (all of them
    at exit, whatever happened)."""

    def __init__(self, name, cmd, env=None, cwd=None):
        self.name = name
        RUNNING.append(self)
        logf = open(WORK / f"{name}.log", "ab")
        self.p = subprocess.Popen(cmd, stdout=logf, stderr=logf, env={**os.environ, **(env or {})}, cwd=cwd)

    def rss_kib(self):
        for line in Path(f"/proc/{self.p.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def stop_all():
    for p in RUNNING:
        p.stop()


atexit.register(stop_all)


def wait_port(port, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


# ---------------------------------------------------------------- servers

def certificate():
    """One ECDSA P-256 certificate for the test name, for every server."""
    key, cert = WORK / "key.pem", WORK / "cert.pem"
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", key, "-out", cert, "-days", "30", "-subj", f"/CN={HOST}",
         "-addext", f"subjectAltName=DNS:{HOST}"])
    return cert, key


def start_upstream():
    d = WORK / "upstream"
    d.mkdir()
    (d / "nginx.conf").write_text(f"""
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 16384; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{UPSTREAM_H1} backlog=4096;
    listen 127.0.0.1:{UPSTREAM_H2C} http2 backlog=4096;
    location / {{ return 200 "ok\\n"; }}
  }}
}}
""")
    p = Proc("upstream", ["nginx", "-p", str(d), "-c", str(d / "nginx.conf")])
    wait_port(UPSTREAM_H1)
    return p


def start_nginx(cert, key):
    d = WORK / "nginx"
    d.mkdir()
    (d / "nginx.conf").write_text(f"""
worker_processes {WORKERS};
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 16384; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  upstream portal {{ server 127.0.0.1:{UPSTREAM_H1}; keepalive 128; }}
  server {{
    listen 127.0.0.1:{NGINX_TLS} ssl http2 backlog=4096;
    server_name {HOST};
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {{
      proxy_pass http://portal;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header X-Forwarded-For $remote_addr;
    }}
  }}
}}
""")
    p = Proc("nginx", ["nginx", "-p", str(d), "-c", str(d / "nginx.conf")])
    wait_port(NGINX_TLS)
    return p


def start_caddy(cert, key):
    d = WORK / "caddy"
    d.mkdir()
    (d / "Caddyfile").write_text(f"""
{{
  admin off
  auto_https off
}}
https://{HOST}:{CADDY_TLS} {{
  bind 127.0.0.1
  tls {cert} {key}
  reverse_proxy 127.0.0.1:{UPSTREAM_H1}
}}
""")
    env = {"GOMAXPROCS": str(WORKERS), "XDG_DATA_HOME": str(d), "XDG_CONFIG_HOME": str(d), "HOME": str(d)}
    p = Proc("caddy", ["caddy", "run", "--config", str(d / "Caddyfile"), "--adapter", "caddyfile"], env=env)
    wait_port(CADDY_TLS)
    return p


class Edge:
    """A porta edge with its own data directory (SQLite) and ports."""

    next_port = 19000

    def __init__(self, name, hook=True, database_url=""):
        self.name = name
        self.dir = WORK / name
        self.dir.mkdir()
        base = Edge.next_port
        Edge.next_port += 10
        self.https, self.http, self.metrics = base, base + 1, base + 2
        self.config = self.dir / "porta.toml"
        self.config.write_text(f"""
data_dir = "{self.dir}"
canonical_base = "portal.localhost"
log_format = "json"
public_https_port = {self.https}
[database]
url = "{database_url}"
[edge]
http_listen = "127.0.0.1:{self.http}"
https_listen = "127.0.0.1:{self.https}"
upstreams = ["127.0.0.1:{UPSTREAM_H1}"]
cert_cache_ttl_seconds = 3600
# Larger than the largest store here (as config/porta.example.toml advises).
cert_cache_max_entries = 200000
unknown_sni_per_ip_per_minute = 100000
ott_exchanges_per_ip_per_minute = 100000
threads = {WORKERS}
client_hello_hook = {"true" if hook else "false"}
{EDGE_EXTRA}
[metrics]
listen = "127.0.0.1:{self.metrics}"
[security]
master_key = "{MASTER_KEY}"
""")
        # A key of BENCH_EDGE_EXTRA replaces the line above that sets it.
        text = self.config.read_text()
        for line in EDGE_EXTRA.splitlines():
            key = line.split("=")[0].strip()
            if key:
                text = re.sub(rf"^{key} = .*\n", "", text, count=1, flags=re.M)
        self.config.write_text(text.replace(EDGE_EXTRA, "") .replace("[metrics]", EDGE_EXTRA + "\n[metrics]", 1)
                               if EDGE_EXTRA else text)
        self.proc = None
        self.porta("migrate")

    def porta(self, *args, stdin=None):
        return run([PORTA, "--config", self.config, *args], input=stdin)

    def seed(self, count):
        names = self.dir / "names.txt"
        out = run([TOOL, "seed-certs", "--config", self.config, "--count", str(count), "--names", names])
        log(f"{self.name}: stored {count} certificates", out.strip())
        return names

    def start(self):
        self.proc = Proc(self.name, [PORTA, "--config", self.config, "edge"])
        wait_port(self.https)
        return self

    def stop(self):
        if self.proc:
            self.proc.stop()
            self.proc = None


# ---------------------------------------------------------------- clients

def to_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        return float("nan")
    if m.group(2) == "m":
        return float(m.group(1)) * 60_000
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def wrk(url, conns, close=False):
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{SECONDS:g}s", "--latency", url]
    if close:
        cmd[1:1] = ["-H", "Connection: close"]
    return parse_wrk(run(cmd))


def parse_wrk(out):
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    pct = lambda p: to_ms(m.group(1)) if (m := re.search(rf"\n\s+{p}%\s+(\S+)", out)) else float("nan")
    p50, p99 = pct(50), pct(99)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "non_2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(1) if errors else ""}


def h2load(url, clients=16, streams=10):
    logfile = WORK / "h2load.log"
    out = run(["h2load", "-c", str(clients), "-m", str(streams), "-D", f"{SECONDS:g}", "--log-file", logfile, url])
    rps = float(re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out).group(1))
    failed = int(re.search(r"(\d+) failed", out).group(1))
    durations = sorted(int(line.split("\t")[2]) for line in logfile.read_text().splitlines() if line)
    pct = lambda p: durations[round((len(durations) - 1) * p)] / 1000 if durations else 0.0
    return {"rps": rps, "p50_ms": pct(0.5), "p99_ms": pct(0.99), "failed": failed}


def tls_load(port, names, conns=32, seconds=None, each_once=False, path="/healthz"):
    cmd = [TOOL, "tls", "--addr", f"127.0.0.1:{port}", "--names", names, "--conns", str(conns),
           "--seconds", str(seconds or SECONDS), "--path", path]
    if each_once:
        cmd.append("--each-once")
    return json.loads(run(cmd))


# ---------------------------------------------------------------- rounds

def rounds(targets, measure):
    """`measure(target)` for every target in every round, the order
    rotating; returns {target: [result per round]}."""
    results = {t: [] for t in targets}
    for r in range(ROUNDS):
        order = targets[r % len(targets):] + targets[: r % len(targets)]
        for t in order:
            results[t].append(measure(t))
    return results


def median(values):
    return statistics.median(values) if values else 0.0


def summary(per_round, key="rps"):
    return {
        "rounds": per_round,
        key: median([x[key] for x in per_round]),
        **{k: median([x[k] for x in per_round])
           for k in ("p50_ms", "p99_ms", "edge_cpu_us", "postgres_cpu_us") if k in per_round[0]},
    }


def ratio(results, a, b, key="rps"):
    return median([x[key] / y[key] for x, y in zip(results[a], results[b]) if y[key]])


# ---------------------------------------------------------------- sections

def start_bare(cert, key):
    """Pingora and rustls alone (`porta-bench bare-proxy`): what the edge's
    proxy path costs beyond Pingora's own."""
    p = Proc("bare", [TOOL, "bare-proxy", "--listen", f"127.0.0.1:{BARE_TLS}", "--upstream",
                      f"127.0.0.1:{UPSTREAM_H1}", "--cert", cert, "--key", key, "--threads", str(WORKERS)])
    wait_port(BARE_TLS)
    return p


def section_proxy(cert, key):
    edge = Edge("edge-proxy")
    edge.porta("tenant", "create", "--slug", "bench", "--name", "Bench")
    edge.porta("cert", "import", "--domain", HOST, "--chain", cert, "--key", key)
    servers = [edge.start(), start_nginx(cert, key), start_caddy(cert, key), start_bare(cert, key)]
    urls = {
        "edge": f"https://{HOST}:{edge.https}/",
        "nginx": f"https://{HOST}:{NGINX_TLS}/",
        "caddy": f"https://{HOST}:{CADDY_TLS}/",
        "bare": f"https://{HOST}:{BARE_TLS}/",
    }
    direct = {"h1": f"http://127.0.0.1:{UPSTREAM_H1}/", "h2": f"http://127.0.0.1:{UPSTREAM_H2C}/"}
    scenarios = {
        "h1_keepalive": lambda t: wrk(urls.get(t, direct["h1"]), 64),
        "h1_new_connection": lambda t: wrk(urls.get(t, direct["h1"]), 32, close=True),
        "h2": lambda t: h2load(urls.get(t, direct["h2"])),
    }
    targets = ["edge", "nginx", "caddy", "bare", "direct"]
    out = {}
    try:
        for name, measure in scenarios.items():
            for t in targets:  # warm-up: connections, pools, caches
                wrk(urls.get(t, direct["h1"]), 16) if name != "h2" else None
            res = rounds(targets, measure)
            out[name] = {
                "targets": {t: summary(res[t]) for t in targets},
                "edge_over_nginx": ratio(res, "edge", "nginx"),
                "edge_over_caddy": ratio(res, "edge", "caddy"),
                "edge_over_bare": ratio(res, "edge", "bare"),
                "bare_over_nginx": ratio(res, "bare", "nginx"),
                "edge_over_direct": ratio(res, "edge", "direct"),
            }
            log(name, json.dumps({k: v for k, v in out[name].items() if k != "targets"}))
    finally:
        for s in servers:
            s.stop()
    return out


def section_handshakes():
    edges = {}
    names = {}
    for label, count, hook in (("1", 1, True), ("10000", 10_000, True), ("100000", 100_000, True),
                               ("1_hook_off", 1, False)):
        e = Edge(f"edge-hs-{label}", hook=hook)
        names[label] = e.seed(count)
        edges[label] = e.start()
    try:
        for label, e in edges.items():  # every name loaded once (hook off: its first handshake fails)
            t = time.time()
            warm = tls_load(e.https, names[label], conns=64, each_once=True)
            if label == "1_hook_off":
                warm = tls_load(e.https, names[label], conns=4, seconds=1)
            log(f"handshakes {label}: warmed in {time.time() - t:.1f} s", warm)
        res = rounds(list(edges), lambda label: tls_load(edges[label].https, names[label]))
        out = {"targets": {label: summary(res[label]) for label in edges}}
        out["10000_over_1"] = ratio(res, "10000", "1")
        out["100000_over_1"] = ratio(res, "100000", "1")
        out["hook_on_over_off"] = ratio(res, "1", "1_hook_off")
        log("handshakes", json.dumps({k: v for k, v in out.items() if k != "targets"}))
        return out, edges, names
    finally:
        for e in edges.values():
            e.stop()


def section_memory(edges, names):
    """Fresh edges; 10 000 handshakes each (10 000 distinct names where
    there are that many); RSS after."""
    out = {}
    served = WORK / "served-10000.txt"
    zero = Edge("edge-mem-0").start()
    time.sleep(1)
    out["rss_kib_0_stored_idle"] = zero.proc.rss_kib()
    zero.stop()
    one_name = (names["1"].read_text().split()[0] + "\n") * 10_000
    (WORK / "one-name-10000.txt").write_text(one_name)
    for label, file in (("1", WORK / "one-name-10000.txt"), ("10000", None), ("100000", None)):
        e = edges[label].start()
        if file is None:
            file = WORK / f"served-{label}.txt"
            file.write_text("\n".join(names[label].read_text().split()[:10_000]) + "\n")
        r = tls_load(e.https, file, conns=32, each_once=True)
        time.sleep(6)  # one lifecycle tick (gauges) after the load
        out[f"rss_kib_{label}_stored_after_10000_served"] = e.proc.rss_kib()
        out[f"served_{label}"] = r
        e.stop()
    base = out["rss_kib_1_stored_after_10000_served"]
    out["bytes_per_cached_cert_10000_stored"] = (out["rss_kib_10000_stored_after_10000_served"] - base) * 1024 / 9_999
    out["bytes_per_cached_cert_100000_stored"] = (out["rss_kib_100000_stored_after_10000_served"] - base) * 1024 / 9_999
    log("memory", json.dumps({k: v for k, v in out.items() if not k.startswith("served")}))
    return out


def section_startup(edges, names):
    def measure(label):
        e = edges[label]
        probe = names[label].read_text().split()[0]
        t = time.time()
        e.proc = Proc(e.name, [PORTA, "--config", e.config, "edge"])
        json.loads(run([TOOL, "first-handshake", "--addr", f"127.0.0.1:{e.https}", "--name", probe]))
        ms = (time.time() - t) * 1000
        e.stop()
        return {"ms": ms}

    res = rounds(["1", "100000"], measure)
    out = {
        "targets": {label: {"rounds": res[label], "ms": median([x["ms"] for x in res[label]])} for label in res},
        "100000_over_1": ratio(res, "100000", "1", key="ms"),
    }
    log("startup", json.dumps({k: v for k, v in out.items() if k != "targets"}))
    return out


def cpu_seconds(pids):
    """User + system CPU seconds the processes `pids` have used so far."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_pids():
    """Every PostgreSQL server process on the machine (the benchmark's
    database is the only one busy while it runs)."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if (d / "comm").read_text().strip() == "postgres":
                    pids.append(int(d.name))
            except OSError:
                pass
    return pids


def postgres_database(name):
    """A fresh PostgreSQL database; returns its URL."""
    for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
        run(["psql", PG_ADMIN, "-qc", sql])
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def section_handoff():
    out = {}
    for backend in ("sqlite", "postgres"):
        url = postgres_database("porta_bench_handoff") if backend == "postgres" else ""
        e = Edge(f"edge-handoff-{backend}", database_url=url)
        tokens = e.dir / "tokens.txt"
        seeded = json.loads(run([TOOL, "seed-otts", "--config", e.config, "--domain", HANDOFF_DOMAIN,
                                 "--count", str(TOKENS), "--out", tokens]))
        log(f"handoff {backend}: seeded", seeded)
        (e.dir / "domain.txt").write_text(HANDOFF_DOMAIN + "\n")
        e.start()
        used = 0

        def measure(target):
            # Where the CPU goes, per request: the edge's process and the
            # PostgreSQL server's.
            pg = postgres_pids() if backend == "postgres" else []
            edge_before, pg_before = cpu_seconds([e.proc.p.pid]), cpu_seconds(pg)
            r = load(target)
            requests = max(r["rps"] * SECONDS, 1)
            r["edge_cpu_us"] = (cpu_seconds([e.proc.p.pid]) - edge_before) / requests * 1e6
            r["postgres_cpu_us"] = (cpu_seconds(pg) - pg_before) / requests * 1e6
            return r

        def load(target):
            nonlocal used
            if target.startswith("exchange"):
                # Kept alive: as many connections as wrk's GETs; a new
                # connection each: as many in flight as tls_load's.
                mode = ["--keepalive", "--conns", "64"] if target == "exchange_keepalive" else ["--conns", "32"]
                r = json.loads(run([TOOL, "exchange", "--addr", f"127.0.0.1:{e.https}", "--domain", HANDOFF_DOMAIN,
                                    "--tokens", tokens, "--skip", str(used), "--seconds", str(SECONDS)] + mode))
                used += r["used"]
                if used >= TOKENS:
                    log(f"handoff {backend}: all {TOKENS} seeded tokens are used; later exchange rounds "
                        "measure nothing (raise BENCH_TOKENS)")
                return r
            if target == "get_keepalive":
                return wrk(f"https://{HANDOFF_DOMAIN}:{e.https}/", 64)
            return tls_load(e.https, e.dir / "domain.txt", path="/")

        try:
            wrk(f"https://{HANDOFF_DOMAIN}:{e.https}/", 16)
            res = rounds(["exchange_keepalive", "get_keepalive", "exchange_new_connection", "get_new_connection"],
                         measure)
        finally:
            e.stop()
            if backend == "postgres":
                run(["psql", PG_ADMIN, "-qc", "DROP DATABASE IF EXISTS porta_bench_handoff"])
        out[backend] = {
            "seeded": seeded,
            "tokens_used": used,
            "targets": {t: summary(res[t]) for t in res},
            "exchange_over_get_keepalive": ratio(res, "exchange_keepalive", "get_keepalive"),
            "exchange_over_get_new_connection": ratio(res, "exchange_new_connection", "get_new_connection"),
        }
        log(f"handoff {backend}", json.dumps({k: v for k, v in out[backend].items() if k != "targets"}))
    return out


def section_portal():
    d = WORK / "portal"
    d.mkdir()
    port = 18090
    config = d / "porta.toml"
    config.write_text(f"""
data_dir = "{d}"
canonical_base = "portal.localhost"
log_format = "json"
[portal]
listen = "127.0.0.1:{port}"
public_scheme = "http"
public_port = {port}
[security]
master_key = "{MASTER_KEY}"
""")
    porta = lambda *a, stdin=None: run([PORTA, "--config", config, *a], input=stdin)
    porta("migrate")
    porta("tenant", "create", "--slug", "bench", "--name", "Bench")
    porta("client", "create", "--tenant", "bench", "--name", "Globex")
    porta("user", "create", "--tenant", "bench", "--email", "jane@globex.example", "--type", "client",
          "--client", "Globex", "--role", "Admin", stdin="correct horse battery staple 42\n")
    seeded = json.loads(run([TOOL, "seed-tickets", "--config", config, "--tenant", "bench", "--client", "Globex",
                             "--email", "jane@globex.example", "--count", "10000"]))
    log("portal: seeded", seeded["tickets"], "tickets in", f"{seeded['seconds']:.1f} s")
    cookie = seeded.pop("cookie")
    portal = Proc("portal", [PORTA, "--config", config, "portal"])
    wait_port(port)
    base = f"http://{HOST}:{port}"
    pages = {"tickets": "/client-portal/tickets", "dashboard": "/client-portal/dashboard",
             "signin": "/auth/client-portal/signin"}

    def measure(page):
        cmd = ["wrk", "-t1", "-c16", f"-d{SECONDS:g}s", "--latency", "-H", f"Cookie: {cookie}", base + pages[page]]
        return parse_wrk(run(cmd))

    try:
        for page in pages:
            measure(page)  # warm-up (and a check below that they answer 200)
        res = rounds(list(pages), measure)
    finally:
        portal.stop()
    out = {
        "seeded": seeded,
        "targets": {p: summary(res[p]) for p in pages},
        "tickets_over_signin": ratio(res, "tickets", "signin"),
        "dashboard_over_signin": ratio(res, "dashboard", "signin"),
    }
    log("portal", json.dumps({k: v for k, v in out.items() if k != "targets"}))
    return out


# ---------------------------------------------------------------- report

def versions():
    nginx = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    caddy = run(["caddy", "version"]).strip()
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    return {"nginx": nginx, "caddy": caddy, "wrk": wrk_version, "h2load": run(["h2load", "--version"]).strip()}


def markdown(r):
    lines = [f"# Edge benchmark ({r['date']})", "",
             f"{r['cores']} cores, {r['workers']} workers each; {r['rounds']} rounds of {r['seconds']} s; "
             f"medians; ratios are medians of per-round ratios. {r['versions']['nginx']}, Caddy "
             f"{r['versions']['caddy'].split()[0]}.", ""]
    if "proxy" in r:
        lines += ["## Proxy throughput (small GET)", "",
                  "| scenario | edge req/s | nginx | Caddy | bare Pingora | direct | edge/nginx | edge/Caddy | "
                  "edge/bare | bare/nginx | edge/direct | edge p50/p99 ms | nginx p50/p99 ms |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for name, s in r["proxy"].items():
            t = s["targets"]
            bare = t.get("bare", {}).get("rps", float("nan"))
            lines.append(
                f"| {name} | {t['edge']['rps']:.0f} | {t['nginx']['rps']:.0f} | {t['caddy']['rps']:.0f} | "
                f"{bare:.0f} | {t['direct']['rps']:.0f} | **{s['edge_over_nginx']:.2f}** | "
                f"{s['edge_over_caddy']:.2f} | {s.get('edge_over_bare', float('nan')):.2f} | "
                f"{s.get('bare_over_nginx', float('nan')):.2f} | "
                f"{s['edge_over_direct']:.2f} | {t['edge']['p50_ms']:.2f}/{t['edge']['p99_ms']:.2f} | "
                f"{t['nginx']['p50_ms']:.2f}/{t['nginx']['p99_ms']:.2f} |")
        lines += ["", "bare Pingora: `porta-bench bare-proxy`, Pingora and rustls proxying to the same "
                  "upstream with nothing of the edge (same worker count and certificate).", ""]
    if "handshakes" in r:
        h = r["handshakes"]
        lines += ["## TLS 1.3 handshakes (new connection, one request, random SNI)", "",
                  "| stored certificates | handshakes/s | p50/p99 ms |", "|---|---|---|"]
        for label, s in h["targets"].items():
            lines.append(f"| {label} | {s['rps']:.0f} | {s['p50_ms']:.2f}/{s['p99_ms']:.2f} |")
        lines += ["", f"10 000 / 1: **{h['10000_over_1']:.2f}**, 100 000 / 1: **{h['100000_over_1']:.2f}**, "
                  f"ClientHello hook on / off: **{h['hook_on_over_off']:.2f}**", ""]
    if "memory" in r:
        m = r["memory"]
        lines += ["## Certificate memory", "",
                  "| stored | RSS KiB |", "|---|---|",
                  f"| 0 (idle) | {m['rss_kib_0_stored_idle']} |",
                  f"| 1, after 10 000 handshakes | {m['rss_kib_1_stored_after_10000_served']} |",
                  f"| 10 000, after 10 000 served | {m['rss_kib_10000_stored_after_10000_served']} |",
                  f"| 100 000, after 10 000 served | {m['rss_kib_100000_stored_after_10000_served']} |", "",
                  f"Bytes per cached certificate: **{m['bytes_per_cached_cert_10000_stored']:.0f}** (10 000 stored), "
                  f"**{m['bytes_per_cached_cert_100000_stored']:.0f}** (100 000 stored)", ""]
    if "startup" in r:
        s = r["startup"]
        lines += ["## Start-up to the first handshake", "",
                  f"1 stored: {s['targets']['1']['ms']:.0f} ms, 100 000 stored: {s['targets']['100000']['ms']:.0f} ms, "
                  f"ratio **{s['100000_over_1']:.2f}**", ""]
    if "portal" in r:
        p = r["portal"]
        t = p["targets"]
        lines += ["## Portal (10 000 tickets, wrk keep-alive, straight to the portal)", "",
                  "| page | req/s | p50/p99 ms | non-2xx | over sign-in |", "|---|---|---|---|---|"]
        for page in ("tickets", "dashboard", "signin"):
            over = {"tickets": p["tickets_over_signin"], "dashboard": p["dashboard_over_signin"]}.get(page, 1.0)
            non2xx = sum(x["non_2xx"] for x in t[page]["rounds"])
            lines.append(f"| {page} | {t[page]['rps']:.0f} | {t[page]['p50_ms']:.2f}/{t[page]['p99_ms']:.2f} | "
                         f"{non2xx} | **{over:.2f}** |")
        lines.append("")
    if "handoff" in r:
        lines += ["## Handoff: one-time-token exchanges against proxied GETs", "",
                  "| backend | exchanges/s keep-alive | GET/s keep-alive | exchange/GET keep-alive | "
                  "exchanges/s new connection | GET/s new connection | exchange/GET new connection |",
                  "|---|---|---|---|---|---|---|"]
        for backend, h in r["handoff"].items():
            t = h["targets"]
            lines.append(f"| {backend} | {t['exchange_keepalive']['rps']:.0f} | {t['get_keepalive']['rps']:.0f} | "
                         f"**{h['exchange_over_get_keepalive']:.2f}** | {t['exchange_new_connection']['rps']:.0f} | "
                         f"{t['get_new_connection']['rps']:.0f} | {h['exchange_over_get_new_connection']:.2f} |")
        lines += ["", "CPU per request (µs, medians; wall-clock load generators and the upstream not counted):", "",
                  "| backend | request | edge | PostgreSQL |", "|---|---|---|---|"]
        for backend, h in r["handoff"].items():
            for target in ("exchange_keepalive", "get_keepalive", "exchange_new_connection", "get_new_connection"):
                t = h["targets"][target]
                if "edge_cpu_us" in t:
                    pg = f"{t['postgres_cpu_us']:.0f}" if backend == "postgres" else "-"
                    lines.append(f"| {backend} | {target.replace('_', ' ')} | {t['edge_cpu_us']:.0f} | {pg} |")
        lines.append("")
    return "\n".join(lines)


def main():
    sections = sys.argv[1:] or ["proxy", "handshakes", "memory", "startup", "portal", "handoff"]
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    cert, key = certificate()
    report = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cores": os.cpu_count(),
              "workers": WORKERS, "rounds": ROUNDS, "seconds": SECONDS, "versions": versions(),
              "edge_extra_config": EDGE_EXTRA}
    upstream = start_upstream()
    try:
        if "proxy" in sections:
            report["proxy"] = section_proxy(cert, key)
        if {"handshakes", "memory", "startup"} & set(sections):
            hs, edges, names = section_handshakes()
            if "handshakes" in sections:
                report["handshakes"] = hs
            if "memory" in sections:
                report["memory"] = section_memory(edges, names)
            if "startup" in sections:
                report["startup"] = section_startup(edges, names)
        if "portal" in sections:
            report["portal"] = section_portal()
        if "handoff" in sections:
            report["handoff"] = section_handoff()
    finally:
        upstream.stop()
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = os.environ.get("BENCH_RESULT", "latest")
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=1) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown(report) + "\n")
    print(markdown(report))


if __name__ == "__main__":
    main()
