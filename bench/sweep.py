#!/usr/bin/env python3
"""Edge configurations side by side (what chose the defaults of
config/porta.example.toml): one edge per variant, HTTP/1.1 keep-alive and
new-connection rounds alternating between them, medians; ratios against the
first variant. `BENCH_SWEEP='name=edge keys;...'` overrides the variants.

    CARGO_TARGET_DIR=... python3 bench/sweep.py
"""
import json
import os
import sys

import bench as b

DEFAULT = ("default=;"
           "no_work_stealing=work_stealing = false;"
           "threads_1=threads = 1;"
           "threads_4=threads = 4;"
           "read_buffer_16k=read_buffer_bytes = 16384;"
           "write_buffer_16k=write_buffer_bytes = 16384")


def main():
    variants = dict(v.split("=", 1) for v in os.environ.get("BENCH_SWEEP", DEFAULT).split(";"))
    b.shutil.rmtree(b.WORK, ignore_errors=True)
    b.WORK.mkdir(parents=True)
    cert, key = b.certificate()
    upstream = b.start_upstream()
    edges = {}
    for name, extra in variants.items():
        b.EDGE_EXTRA = extra.replace(",", "\n")
        e = b.Edge(f"sweep-{name}")
        e.porta("tenant", "create", "--slug", "bench", "--name", "Bench")
        e.porta("cert", "import", "--domain", b.HOST, "--chain", cert, "--key", key)
        edges[name] = e.start()
    out = {}
    try:
        for scenario, conns, close in (("h1_keepalive", 64, False), ("h1_new_connection", 32, True)):
            url = lambda n: f"https://{b.HOST}:{edges[n].https}/"
            for n in edges:
                b.wrk(url(n), 16)
            res = b.rounds(list(edges), lambda n: b.wrk(url(n), conns, close=close))
            first = next(iter(edges))
            out[scenario] = {n: {"rps": b.median([x["rps"] for x in res[n]]),
                                 "over_default": b.ratio(res, n, first)} for n in edges}
            b.log(scenario, json.dumps(out[scenario]))
    finally:
        upstream.stop()
    b.RESULTS.mkdir(parents=True, exist_ok=True)
    (b.RESULTS / "sweep.json").write_text(json.dumps({"variants": variants, "rounds": b.ROUNDS,
                                                      "seconds": b.SECONDS, **out}, indent=1) + "\n")
    for scenario, rows in out.items():
        print(scenario)
        for n, r in rows.items():
            print(f"  {n:20} {r['rps']:8.0f} req/s  {r['over_default']:.2f}")


if __name__ == "__main__":
    main()
