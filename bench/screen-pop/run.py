#!/usr/bin/env python3
"""Screen-pop latency benchmark: from the SIP INVITE arriving at `dialtone serve
--sip` to the `offer` (with its pop) arriving at a connected agent desktop
WebSocket, with 1,000,000 Contacts+Leads in the store and 1,000 agents
connected (docs/DESKTOP.md §2).

Setup (once per data directory; `--data DIR` keeps and reuses it):
  * `dialtone-bench --write-csv` writes the 1M generated records (the same
    generator as the 1M-record benchmark) as Contact.csv/Lead.csv and
    callers.csv (numbers held by one record, by two, by none);
  * `dialtone import Contact|Lead` (the real import path), a call center,
    N agents in it with a static SIP contact pointing at one sipp UAS, each
    Available, an API token per agent, a SIP trunk for 127.0.0.1.
Run:
  * `dialtone serve --sip`, a sipp UAS for the agents' phones, and
    `screen-pop-client ws` (Rust, one thread) holding one desktop WebSocket
    per agent and stamping every message with CLOCK_REALTIME on arrival;
  * per rate, a sipp UAC places rate x seconds calls whose From is a number
    from callers.csv (mix of matched / chooser / new), while three loopback
    packet sockets (kernel timestamps, CLOCK_REALTIME too; bench/sip-load's
    Sniffer) record per carrier Call-ID: the INVITE in, the 180 out, the
    INVITE out to the agent's phone (by its X-Dialtone-Call header), and the
    TCP segment carrying the `offer` frame out of the server.
  * latency = offer arrival at the client - INVITE capture. Same-run
    references: INVITE->180 (the SIP core alone), INVITE->agent INVITE (SIP
    core + routing, no desk write, pop or WebSocket), and the bare phone
    lookup (`screen-pop-client lookup`: normalise + Store::phone_lookup on the
    same store, between steps).

Builds nothing. Usage: bench/screen-pop/run.py [--help]
"""

import argparse
import csv
import datetime
import importlib.util
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SCENARIO = os.path.join(HERE, "uac-pop.xml")

# bench/sip-load/run.py: capture, sipp and process helpers (imported, not copied).
_spec = importlib.util.spec_from_file_location("sipload", os.path.join(REPO, "bench", "sip-load", "run.py"))
sipload = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sipload)
out = sipload.out
pct, fmt, cpu_seconds, rss_mib = sipload.pct, sipload.fmt, sipload.cpu_seconds, sipload.rss_mib

SETUP_MARK = "screen-pop-setup.json"
X_CALL = re.compile(rb"\r\nX-Dialtone-Call[ \t]*:[ \t]*([^\r\n]+)", re.I)
FROM_USER = re.compile(rb"\r\n(?:from|f)[ \t]*:[^\r\n]*?sip:([^@;>\r\n]+)", re.I)
TO_USER = re.compile(rb"\r\n(?:to|t)[ \t]*:[^\r\n]*?sip:([^@;>\r\n]+)", re.I)
WS_OFFER = re.compile(rb'"type"\s*:\s*"offer"')
WS_KEY = re.compile(rb'"key"\s*:\s*"([^"]+)"')


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def bin_path(name, env, given):
    p = given or os.environ.get(env) or os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target")), "release", name)
    p = os.path.abspath(p)
    if not os.access(p, os.X_OK):
        raise SystemExit(f"no {name} at {p} (build: cargo build --release -p dialtone -p dialtone-bench -p dialtone-screen-pop)")
    return p


# ---------------------------------------------------------------- setup

def dialtone(args, *a, data=None, check=True):
    return sipload.run([args.dialtone, *a, "--data", args.data], data=data, check=check)


def setup(args):
    """Creates the data directory (unless it holds a finished setup of the same shape)."""
    mark = os.path.join(args.data, SETUP_MARK)
    want = {"records": args.records, "agents": args.agents, "agent_port": args.agent_port, "seed": args.seed}
    if os.path.exists(mark):
        with open(mark) as f:
            have = json.load(f)
        if all(have.get(k) == v for k, v in want.items()):
            out(f"setup: reusing {args.data} (made {have.get('made')}; import took {have.get('import_s')} s)")
            return have
        raise SystemExit(f"{args.data} holds another setup ({have}); use another --data")
    if os.path.exists(args.data) and os.listdir(args.data):
        raise SystemExit(f"{args.data} is not empty and has no {SETUP_MARK}: use an empty or new directory")
    os.makedirs(args.data, exist_ok=True)
    csvdir = os.path.join(args.data, "csv")
    t0 = time.monotonic()
    p = sipload.run([args.bench, "--records", str(args.records), "--seed", str(args.seed), "--write-csv", csvdir])
    out("    " + [l for l in p.stdout.splitlines() if "callers.csv" in l][-1])
    t1 = time.monotonic()
    imported = {}
    for obj in ("Contact", "Lead"):
        t = time.monotonic()
        r = dialtone(args, "import", obj, os.path.join(csvdir, f"{obj}.csv"), "--errors", os.path.join(csvdir, f"{obj}-refused.csv"))
        imported[obj] = round(time.monotonic() - t, 1)
        out(f"    import {obj}: {imported[obj]} s: {(r.stdout.strip() or r.stderr.strip()).splitlines()[-1][:200]}")
    t2 = time.monotonic()
    xml = os.path.join(args.data, "cc.xml")
    with open(xml, "w") as f:
        f.write(sipload.CC_XML)
    dialtone(args, "callcenter", "import", xml)
    tokens = []
    for i in range(1, args.agents + 1):
        user = f"agent{i}@example.com"
        dialtone(args, "user", "add", user, "--profile", "Agent", "--call-center", "BenchCC",
                 "--sip-contact", f"sip:agent{i}@127.0.0.1:{args.agent_port}", data="secret123\n")
        dialtone(args, "agent", "status", user, "Available")
        tok = dialtone(args, "token", "create", user, "--label", "screen-pop bench").stdout.strip().splitlines()[0]
        tokens.append(f"{user}\t{tok}")
    with open(os.path.join(args.data, "tokens.tsv"), "w") as f:
        f.write("\n".join(tokens) + "\n")
    dialtone(args, "trunk", "add", "carrier", "--provider", "sip", "--match-ip", "127.0.0.1",
             "--call-center", "BenchCC", "--queue-timeout", "5")
    t3 = time.monotonic()
    have = dict(want, made=datetime.datetime.now().isoformat(timespec="seconds"),
                generate_s=round(t1 - t0, 1), import_s=round(t2 - t1, 1), import_by_object=imported,
                agents_s=round(t3 - t2, 1))
    with open(mark, "w") as f:
        json.dump(have, f)
    out(f"setup: generated in {have['generate_s']} s, imported {args.records} records in {have['import_s']} s, "
        f"{args.agents} agents + tokens in {have['agents_s']} s")
    return have


def all_available(args):
    """Every agent Available before serve starts (a previous run may have left some elsewhere)."""
    t = time.monotonic()
    for i in range(1, args.agents + 1):
        dialtone(args, "agent", "status", f"agent{i}@example.com", "Available")
    return time.monotonic() - t


def no_wrap_up(args):
    """The call center without required wrap-up, or every agent would sit in
    After Call Work after their first call (the desk's default is required)."""
    p = dialtone(args, "callcenter", "settings", "BenchCC", "--wrap-up-required", "off")
    return p.stdout.strip()


def load_callers(args):
    by = {}
    with open(os.path.join(args.data, "csv", "callers.csv")) as f:
        for row in csv.DictReader(f):
            by.setdefault(row["outcome"], []).append(row)
    return by


# ---------------------------------------------------------------- captures

def tcp_from_port_filter(port):
    """Classic BPF over the IP header: TCP, not a fragment, source port == port."""
    b = sipload.bpf
    return [
        b(0x30, 0, 0, 9),           # ldb [9] protocol
        b(0x15, 0, 6, 6),           # jeq 6 ? : drop
        b(0x28, 0, 0, 6),           # ldh [6]
        b(0x45, 4, 0, 0x1FFF),      # jset fragment ? drop
        b(0xB1, 0, 0, 0),           # ldxb 4*([0]&0xf)
        b(0x48, 0, 0, 0),           # ldh [x+0] src port
        b(0x15, 0, 1, port),        # jeq port ? accept : drop
        b(0x06, 0, 0, 0x40000),     # accept
        b(0x06, 0, 0, 0),           # drop
    ]


class Captures:
    """The three loopback captures of a step, keyed by the carrier leg's Call-ID."""

    def __init__(self, args):
        self.invite, self.ringing, self.caller = {}, {}, {}
        self.leg_b, self.leg_b_agent = {}, {}
        self.wire = {}       # key -> [kernel ts of each segment carrying an offer for it]
        self.lock = threading.Lock()
        self.snifs = [
            sipload.Sniffer(args.sip_port, on_packet=self._sip),
            sipload.Sniffer(args.agent_port, on_packet=self._agent),
            sipload.Sniffer(args.http_port, prog=tcp_from_port_filter(args.http_port), on_packet=self._ws),
        ]

    @staticmethod
    def _udp_payload(data):
        return data[(data[0] & 0xF) * 4 + 8:]

    def _sip(self, ts, data):
        payload = self._udp_payload(data)
        m = sipload.CALL_ID.search(payload)
        if not m:
            return
        cid = m.group(1).strip().decode("latin-1")
        if payload.startswith(b"INVITE"):
            if cid not in self.invite:
                self.invite[cid] = ts
                f = FROM_USER.search(payload)
                self.caller[cid] = f.group(1).decode("latin-1") if f else None
        elif cid not in self.ringing:
            self.ringing[cid] = ts

    def _agent(self, ts, data):
        payload = self._udp_payload(data)
        if not payload.startswith(b"INVITE"):
            return
        m = X_CALL.search(payload)
        if not m:
            return
        key = m.group(1).strip().decode("latin-1")
        if key not in self.leg_b:   # the first INVITE, not a retransmission
            self.leg_b[key] = ts
            t = TO_USER.search(payload)
            self.leg_b_agent[key] = t.group(1).decode("latin-1") if t else None

    def _ws(self, ts, data):
        ihl = (data[0] & 0xF) * 4
        payload = data[ihl + ((data[ihl + 12] >> 4) * 4):]
        if not payload:
            return
        for m in WS_OFFER.finditer(payload):
            k = WS_KEY.search(payload, m.end())
            if k:
                self.wire.setdefault(k.group(1).decode("latin-1"), []).append(ts)

    def stop(self):
        for s in self.snifs:
            s.stop()


# ---------------------------------------------------------------- processes

def start_serve(args):
    env = dict(os.environ)
    if args.log:
        env["DIALTONE_LOG"] = args.log
    return sipload.start_serve(args, env=env, timeout=60, settle=2)


class Client:
    """screen-pop-client ws: READY line, then dump/stats/quit on stdin."""

    def __init__(self, args):
        self.p = subprocess.Popen(
            [args.client, "ws", "--url", f"ws://127.0.0.1:{args.http_port}/api/desktop/ws",
             "--tokens", os.path.join(args.data, "tokens.tsv")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(os.path.join(args.work, "client.err"), "w"),
            text=True, bufsize=1)
        line = self._line(args.connect_timeout)
        if not line or not line.startswith("READY "):
            raise SystemExit(f"screen-pop-client did not get ready: {line!r} (see {args.work}/client.err)")
        self.ready = json.loads(line[6:])

    def _line(self, timeout):
        box = []
        t = threading.Thread(target=lambda: box.append(self.p.stdout.readline()), daemon=True)
        t.start()
        t.join(timeout)
        return box[0].rstrip("\n") if box else None

    def dump(self):
        self.p.stdin.write("dump\n")
        self.p.stdin.flush()
        offers = []
        while True:
            line = self._line(60)
            if line is None:
                raise SystemExit("screen-pop-client stopped answering")
            if line.startswith("END "):
                return offers, json.loads(line[4:])
            offers.append(json.loads(line))

    def quit(self):
        try:
            self.p.stdin.write("quit\n")
            self.p.stdin.flush()
            self.p.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired, ValueError):
            self.p.kill()


def fsync_probe(args, n=200):
    """What one durable commit costs on this disk now: a 4 KiB append + fsync
    in the data directory (SQLite in WAL mode with synchronous=FULL fsyncs
    the WAL once per transaction)."""
    path = os.path.join(args.data, "fsync-probe.tmp")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    block = b"x" * 4096
    ms = []
    try:
        for _ in range(n):
            t = time.perf_counter()
            os.write(fd, block)
            os.fsync(fd)
            ms.append((time.perf_counter() - t) * 1000)
    finally:
        os.close(fd)
        os.unlink(path)
    return dist(ms)


def bare_lookup(args, n):
    p = sipload.run([args.client, "lookup", "--data", args.data, "--numbers",
                     os.path.join(args.data, "csv", "callers.csv"), "--n", str(n),
                     "--repeat", str(args.repeat_numbers)], check=False)
    for line in p.stdout.splitlines():
        if line.startswith("LOOKUP "):
            return json.loads(line[7:])
    out(f"    bare lookup failed: {p.stderr.strip()[-300:]}")
    return None


# ---------------------------------------------------------------- one step

def injection(args, callers, rate, step_idx, mix_shares=None):
    """The step's calls: caller numbers in a shuffled mix (deterministic by seed and step).
    Kind `repeat`: a few matched numbers (--repeat-numbers, kept out of the
    `matched` pool) called again and again: repeat callers."""
    calls = max(1, int(rate * args.seconds))
    rnd = random.Random(args.seed * 1000 + step_idx)
    mix = []
    for kind, share in (mix_shares or args.mix).items():
        k = round(calls * share)
        if kind == "repeat":
            pool = callers["matched"][-args.repeat_numbers:]
            mix += [("matched", rnd.choice(pool)) for _ in range(k)]
            continue
        pool = callers[kind][:-args.repeat_numbers] if kind == "matched" else callers[kind]
        picks = rnd.sample(pool, min(k, len(pool))) if k <= len(pool) else [rnd.choice(pool) for _ in range(k)]
        mix += [(kind, r) for r in picks]
    mix = mix[:calls]
    while len(mix) < calls:
        mix.append(("matched", rnd.choice(callers["matched"])))
    rnd.shuffle(mix)
    path = os.path.join(args.work, f"callers-{rate}-{step_idx}.csv")
    with open(path, "w") as f:
        f.write("SEQUENTIAL\n")
        for _, r in mix:
            f.write(f"{r['number']};\n")
    expected = {r["number"]: (kind, r) for kind, r in mix}
    return path, len(mix), expected


def dist(ms):
    ms = sorted(ms)
    return {"n": len(ms), "p50": pct(ms, 50), "p90": pct(ms, 90), "p99": pct(ms, 99), "max": ms[-1] if ms else None}


def dstr(d, nd=2):
    return (f"n {d['n']} p50 {fmt(d['p50'], nd)} p90 {fmt(d['p90'], nd)} p99 {fmt(d['p99'], nd)} max {fmt(d['max'], nd)}")


def step(args, serve, uas, client, callers, rate, idx, diag=None, mix=None):
    inf, calls, expected = injection(args, callers, rate, idx, mix)
    load0 = loadavg()
    cpu0, uas0 = cpu_seconds(serve.pid), cpu_seconds(uas.pid)
    cap = Captures(args)
    tracer = subprocess.Popen(diag, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) if diag else None
    b = args.base_port
    r = sipload.sipp_uac(args, os.path.join(args.work, f"uac-{rate}-{idx}"), f"127.0.0.1:{args.sip_port}",
                         b + 81, rate, calls, b + 1400, b + 1902, scenario=SCENARIO,
                         extra=["-inf", inf, "-d", str(args.hold_ms)])
    time.sleep(args.settle)
    if tracer:
        tracer.send_signal(signal.SIGINT)
        tracer.wait(timeout=60)
    cap.stop()
    cpu1, uas1 = cpu_seconds(serve.pid), cpu_seconds(uas.pid)
    offers, summary = client.dump()
    load1 = loadavg()

    by_key = {}
    for o in offers:
        by_key.setdefault(o["key"], []).append(o)
    keys = set(cap.invite)
    offered = keys & set(cap.leg_b)
    res = {"rate": rate, "calls": calls, "sipp": r, "load": (load0, load1), "rss": rss_mib(serve.pid),
           "cpu": (cpu1 - cpu0) if cpu1 is not None else None, "uas_cpu": (uas1 - uas0) if uas1 is not None else None,
           "invites": len(keys), "offered": len(offered), "offers": len(offers), "types": summary}
    res["exactly_one"] = sum(1 for k in offered if len(by_key.get(k, [])) == 1)
    res["duplicates"] = sum(1 for k in offered if len(by_key.get(k, [])) > 1)
    res["dup_other_agent"] = sum(1 for k in offered if len({o["agent"] for o in by_key.get(k, [])}) > 1)
    res["missed"] = sorted(k for k in offered if k not in by_key)
    res["not_offered_but_popped"] = sum(1 for k in keys - offered if k in by_key)
    res["stray"] = sum(1 for k in by_key if k not in keys)
    wrong_agent = wrong_outcome = wrong_record = 0
    lat = {}        # outcome -> [ms] INVITE -> offer at the client
    wire = {}       # outcome -> [ms] INVITE -> offer segment leaves the server
    client_ms = []  # wire -> client
    after_b = []    # agent INVITE -> offer at the client
    outcomes = {}
    for k in offered:
        os_ = by_key.get(k)
        if not os_:
            continue
        o = min(os_, key=lambda x: int(x["t"]))
        num = cap.caller.get(k)
        kind, row = expected.get(num, ("?", None))
        got = o["outcome"]
        outcomes[(kind, got)] = outcomes.get((kind, got), 0) + 1
        if got != kind:
            wrong_outcome += 1
        if kind == "matched" and row and got == "matched" and row["record"] not in o["records"]:
            wrong_record += 1
        b_agent = cap.leg_b_agent.get(k)
        if b_agent and o["agent"].split("@")[0] != b_agent:
            wrong_agent += 1
        t_ws = int(o["t"]) / 1e9
        ms = (t_ws - cap.invite[k]) * 1000
        lat.setdefault(got, []).append(ms)
        lat.setdefault("all", []).append(ms)
        after_b.append((t_ws - cap.leg_b[k]) * 1000)
        if k in cap.wire:
            w = min(cap.wire[k])
            wire.setdefault(got, []).append((w - cap.invite[k]) * 1000)
            wire.setdefault("all", []).append((w - cap.invite[k]) * 1000)
            client_ms.append((t_ws - w) * 1000)
    res["wrong_agent"], res["wrong_outcome"], res["wrong_record"] = wrong_agent, wrong_outcome, wrong_record
    # first and last fifth of the step's calls (by INVITE time): does the pop slow down as calls accumulate?
    timed = sorted((cap.invite[k], (int(min(by_key[k], key=lambda x: int(x["t"]))["t"]) / 1e9 - cap.invite[k]) * 1000)
                   for k in offered if k in by_key)
    fifth = max(1, len(timed) // 5)
    res["first_fifth"] = dist([m for _, m in timed[:fifth]])
    res["last_fifth"] = dist([m for _, m in timed[-fifth:]])
    ring = sorted((t, (cap.ringing[k] - t) * 1000) for k, t in cap.invite.items() if k in cap.ringing)
    leg = sorted((t, (cap.leg_b[k] - t) * 1000) for k, t in cap.invite.items() if k in cap.leg_b)
    res["ring_fifths"] = (dist([m for _, m in ring[:fifth]]), dist([m for _, m in ring[-fifth:]]))
    res["leg_b_fifths"] = (dist([m for _, m in leg[:fifth]]), dist([m for _, m in leg[-fifth:]]))
    res["outcomes"] = {f"{a}->{b_}": n for (a, b_), n in sorted(outcomes.items())}
    res["pop"] = {k: dist(v) for k, v in lat.items()}
    res["wire"] = {k: dist(v) for k, v in wire.items()}
    res["client"] = dist(client_ms)
    res["after_b"] = dist(after_b)
    res["ring"] = dist([(cap.ringing[k] - t) * 1000 for k, t in cap.invite.items() if k in cap.ringing])
    res["leg_b"] = dist([(cap.leg_b[k] - t) * 1000 for k, t in cap.invite.items() if k in cap.leg_b])
    return res


def report_step(res):
    r = res["sipp"]
    out(f"[{res['rate']}/s] calls {res['calls']}: sipp created {r.get('created')} ok {r.get('ok')} failed {r.get('failed')} "
        f"retrans {r.get('retrans')} elapsed {fmt(r.get('elapsed'), 1)} s; load {res['load'][0]} -> {res['load'][1]}")
    out(f"    INVITEs captured {res['invites']}, offered to an agent (INVITE to a phone) {res['offered']}; offers received {res['offers']}: "
        f"exactly one {res['exactly_one']}, duplicated {res['duplicates']} (on another agent {res['dup_other_agent']}), "
        f"missed {len(res['missed'])}{' e.g. ' + ', '.join(res['missed'][:3]) if res['missed'] else ''}, "
        f"stray {res['stray']}, popped but not offered {res['not_offered_but_popped']}")
    out(f"    outcomes (expected->got) {res['outcomes']}; wrong outcome {res['wrong_outcome']}, wrong record {res['wrong_record']}, "
        f"offer on another agent than the phone rung {res['wrong_agent']}")
    for k in ["all", "matched", "chooser", "new"] + sorted(set(res["pop"]) - {"all", "matched", "chooser", "new"}):
        if k in res["pop"]:
            out(f"    INVITE->offer at client  [{k:8}] ms {dstr(res['pop'][k])}")
    for k in ["all", "matched", "chooser", "new"]:
        if k in res["wire"]:
            out(f"    INVITE->offer on wire    [{k:8}] ms {dstr(res['wire'][k])}")
    out(f"    offer on wire->client               ms {dstr(res['client'], 3)}")
    out(f"    INVITE->offer, first fifth of calls ms {dstr(res['first_fifth'])}; last fifth {dstr(res['last_fifth'])}")
    out(f"    INVITE->agent INVITE, first fifth   ms {dstr(res['leg_b_fifths'][0], 3)}; last fifth {dstr(res['leg_b_fifths'][1], 3)}")
    out(f"    reference INVITE->180               ms {dstr(res['ring'], 3)}")
    out(f"    reference INVITE->agent INVITE      ms {dstr(res['leg_b'], 3)}")
    out(f"    agent INVITE->offer at client       ms {dstr(res['after_b'], 3)}")
    c = res["cpu"]
    out(f"    dialtone CPU {fmt(c)} s ({1000 * (c or 0) / max(res['calls'], 1):.2f} ms/call, "
        f"{100 * (c or 0) / max(r.get('elapsed') or 1, 1e-9):.0f}% of a core over the sipp run), RSS {fmt(res['rss'], 0)} MiB; "
        f"client messages so far {res['types']}")


def diagnose(args, serve, uas, client, callers, idx):
    """Two extra steps at --diagnose-rate, not in the table (tracing slows the
    server): perf samples of the server's CPU, then strace of its fsyncs."""
    rate = args.diagnose_rate
    out("")
    out(f"## diagnosis at {rate}/s (extra steps, not in the table: the tracers slow the server)")
    pdata = os.path.join(args.work, "perf.data")
    res = step(args, serve, uas, client, callers, rate, idx,
               diag=["perf", "record", "-F", "499", "-g", "-p", str(serve.pid), "-o", pdata])
    out(f"[perf {rate}/s] INVITE->offer at client ms {dstr(res['pop'].get('all', dist([])))}; "
        f"dialtone CPU {1000 * (res['cpu'] or 0) / max(res['calls'], 1):.2f} ms/call")
    rep = sipload.run(["perf", "report", "-i", pdata, "--stdio", "--no-children", "--sort", "dso,sym",
                       "--percent-limit", "1.5", "-g", "none"], check=False).stdout
    with open(os.path.join(args.work, "perf-report.txt"), "w") as f:
        f.write(rep)
    for line in [l for l in rep.splitlines() if l.strip() and not l.startswith("#")][:25]:
        out(f"    perf {line.strip()[:160]}")
    sfile = os.path.join(args.work, "strace.txt")
    res = step(args, serve, uas, client, callers, rate, idx + 1,
               diag=["strace", "-f", "-qq", "-T", "-e", "trace=fsync,fdatasync", "-o", sfile, "-p", str(serve.pid)])
    out(f"[strace {rate}/s] INVITE->offer at client ms {dstr(res['pop'].get('all', dist([])))}")
    durs = []
    try:
        with open(sfile) as f:
            for line in f:
                m = re.search(r"<([0-9.]+)>\s*$", line)
                if m and ("fsync(" in line or "fdatasync(" in line):
                    durs.append(float(m.group(1)) * 1000)
    except OSError:
        pass
    d = dist(durs)
    out(f"    fsync/fdatasync calls by the server: {len(durs)} for {res['calls']} calls = {len(durs) / max(res['calls'], 1):.2f} per call; "
        f"their time ms {dstr(d, 3)}; total {sum(durs):.0f} ms")


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dialtone", default=None, help="dialtone binary ($DIALTONE_BIN, default $CARGO_TARGET_DIR/release/dialtone)")
    ap.add_argument("--bench", default=None, help="dialtone-bench binary (for --write-csv)")
    ap.add_argument("--client", default=None, help="screen-pop-client binary")
    ap.add_argument("--sipp", default=shutil.which("sipp") or "sipp")
    ap.add_argument("--data", default=None, help="data directory to create or reuse (default: a temp dir, removed unless --keep)")
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--agents", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--rates", default="20,50,100", help="calls/s per step")
    ap.add_argument("--seconds", type=float, default=20, help="length of each step")
    ap.add_argument("--mix", default="matched:0.8,chooser:0.1,new:0.1", help="share of each caller kind")
    ap.add_argument("--hold-ms", type=int, default=1000, help="sipp -d: how long each answered call lasts")
    ap.add_argument("--settle", type=float, default=1.0, help="seconds after sipp before the captures stop")
    ap.add_argument("--lookups", type=int, default=5000, help="bare lookups per outcome, between steps")
    ap.add_argument("--limit", type=int, default=5000, help="sipp -l")
    ap.add_argument("--recv-timeout-ms", type=int, default=10000)
    ap.add_argument("--connect-timeout", type=float, default=180)
    ap.add_argument("--log", default=None, help="DIALTONE_LOG for the server (e.g. info,dialtone_server=debug)")
    ap.add_argument("--base-port", type=int, default=26000, help="SIP +60, HTTP +80, agent UAS +70, UAC +81, media/control above")
    ap.add_argument("--setup-only", action="store_true")
    ap.add_argument("--repeat-rate", type=int, default=0, help="after the timed steps: a step of repeat callers at this rate (0: none)")
    ap.add_argument("--repeat-numbers", type=int, default=10, help="how many numbers the repeat callers use")
    ap.add_argument("--diagnose", action="store_true", help="after the timed steps: a perf step and an strace (fsync) step")
    ap.add_argument("--diagnose-rate", type=int, default=50)
    ap.add_argument("--out", default=None, help="results file (default bench/results/screen-pop-DATE.txt)")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    args.dialtone = bin_path("dialtone", "DIALTONE_BIN", args.dialtone)
    args.bench = bin_path("dialtone-bench", "DIALTONE_BENCH_BIN", args.bench)
    args.client = bin_path("screen-pop-client", "SCREEN_POP_CLIENT", args.client)
    args.mix = {k: float(v) for k, v in (p.split(":") for p in args.mix.split(","))}
    rates = [int(x) for x in args.rates.split(",")]
    b = args.base_port
    args.sip_port, args.http_port, args.agent_port = b + 60, b + 80, b + 70
    args.work = tempfile.mkdtemp(prefix="screen-pop-")
    temp_data = args.data is None
    args.data = os.path.abspath(args.data or os.path.join(args.work, "data"))
    stamp = datetime.datetime.now().strftime("%Y-%m-%d-%H%M")
    args.out = args.out or os.path.join(REPO, "bench", "results", f"screen-pop-{stamp}.txt")
    if not sipload.can_sniff():
        raise SystemExit("needs a packet socket on loopback (run as root)")

    cpu_model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_gib = int(f.readline().split()[1]) / 1024 / 1024
    git = sipload.run(["git", "-C", REPO, "log", "-1", "--format=%h %s"], check=False).stdout.strip()
    out(f"# screen-pop {datetime.datetime.now().isoformat(timespec='seconds')}")
    out(f"command: {' '.join([sys.argv[0], *sys.argv[1:]])}")
    out(f"dialtone: {args.dialtone}; tree: {git}")
    out(f"sipp: {(sipload.run([args.sipp, '-v'], check=False).stdout.strip().splitlines() or ['?'])[0].strip()}")
    out(f"machine: nproc {os.cpu_count()}, {cpu_model}, {mem_gib:.1f} GiB, load average at start {loadavg()}")
    out(f"plan: {args.records} records, {args.agents} agents, rates {rates} calls/s x {args.seconds:g} s, mix {args.mix}, "
        f"hold {args.hold_ms} ms; data {args.data}; work {args.work}")

    procs = []
    results = []
    lookups = []
    try:
        setup(args)
        if args.setup_only:
            return
        out(f"all {args.agents} agents set Available in {all_available(args):.1f} s")
        out(f"wrap-up not required: {no_wrap_up(args)}")
        callers = load_callers(args)
        lk = bare_lookup(args, args.lookups)
        if lk:
            lookups.append(lk)
            out(f"bare lookup (normalise + Store::phone_lookup, same store, before serve): {json.dumps(lk)}")
        serve = start_serve(args)
        procs.append(serve)
        fs = fsync_probe(args)
        out(f"fsync probe (4 KiB append + fsync in the data dir, 200 times) ms {dstr(fs, 3)}")
        out(f"dialtone serve up: RSS {fmt(rss_mib(serve.pid), 0)} MiB")
        uas = sipload.start_uas(args, os.path.join(args.work, "uas"), args.agent_port, b + 1000, b + 1900)
        procs.append(uas)
        c0 = cpu_seconds(serve.pid)
        client = Client(args)
        out(f"client: {json.dumps(client.ready)}; dialtone CPU for the connects {cpu_seconds(serve.pid) - c0:.2f} s, "
            f"RSS {fmt(rss_mib(serve.pid), 0)} MiB")
        c0 = cpu_seconds(serve.pid)
        time.sleep(5)
        idle = (cpu_seconds(serve.pid) - c0) / 5
        out(f"dialtone idle CPU with {client.ready.get('connected')} sockets: {1000 * idle:.0f} ms/s")
        for i, rate in enumerate(rates):
            res = step(args, serve, uas, client, callers, rate, i)
            results.append(res)
            report_step(res)
            if serve.poll() is not None:
                out(f"dialtone serve EXITED ({serve.returncode})")
                break
            lk = bare_lookup(args, args.lookups)
            if lk:
                lookups.append(lk)
                out(f"    bare lookup after the step (server idle): {json.dumps(lk)}")
            res["fsync"] = fsync_probe(args)
            out(f"    fsync probe after the step (4 KiB append + fsync, data dir)  ms {dstr(res['fsync'], 3)}")
        if args.repeat_rate and serve.poll() is None:
            out("")
            out(f"## repeat callers: {args.repeat_numbers} matched numbers called over and over at {args.repeat_rate}/s "
                f"(each call adds a VoiceCall whose FromPhoneNumber is in the phone index)")
            res = step(args, serve, uas, client, callers, args.repeat_rate, 100, mix={"repeat": 1.0})
            res["repeat"] = True
            results.append(res)
            report_step(res)
            lk = bare_lookup(args, args.lookups)
            if lk:
                lookups.append(lk)
        if args.diagnose and serve.poll() is None:
            diagnose(args, serve, uas, client, callers, len(rates))
        client.quit()
    finally:
        sipload.stop_all(procs, timeout=15)

    # ---- table
    if results:
        out("")
        out("| rate (calls/s) | calls | offered / offers exactly once / dup / missed | outcome | INVITE→offer at client p50 / p90 / p99 / max ms | "
            "INVITE→offer on wire p99 ms | ref INVITE→180 p50 / p99 ms | ref INVITE→agent INVITE p50 / p99 ms | dialtone CPU ms/call | load avg |")
        out("|---|---|---|---|---|---|---|---|---|---|")
        for res in results:
            first = True
            for k in ["all", "matched", "chooser", "new"]:
                d = res["pop"].get(k)
                if not d:
                    continue
                w = res["wire"].get(k, {})
                head = (f"| {res['rate']}{' (repeat callers)' if res.get('repeat') else ''} | {res['calls']} | {res['offered']} / {res['exactly_one']} / {res['duplicates']} / {len(res['missed'])} "
                        if first else "| | | ")
                refs = (f"{fmt(res['ring']['p50'])} / {fmt(res['ring']['p99'])} | {fmt(res['leg_b']['p50'])} / {fmt(res['leg_b']['p99'])} | "
                        f"{1000 * (res['cpu'] or 0) / max(res['calls'], 1):.2f} | {res['load'][1]} |") if first else "| | | |"
                out(f"{head}| {k} ({d['n']}) | {fmt(d['p50'])} / {fmt(d['p90'])} / {fmt(d['p99'])} / {fmt(d['max'])} | {fmt(w.get('p99'))} | {refs}")
                first = False
        out("")
        for res in results:
            d = res["pop"].get("all")
            if d and res["ring"]["p50"]:
                out(f"[{res['rate']}/s{' repeat callers' if res.get('repeat') else ''}] ratio INVITE->offer / INVITE->agent INVITE: p50 {d['p50'] / max(res['leg_b']['p50'], 1e-9):.1f}x, "
                    f"p99 {d['p99'] / max(res['leg_b']['p99'], 1e-9):.1f}x; p99 < 10 ms: {'met' if d['p99'] < 10 else 'MISSED'}")
    for lk in lookups:
        out("bare lookup us: " + "; ".join(f"{k} p50 {v['p50_us']:.1f} p99 {v['p99_us']:.1f}" for k, v in lk.items()))
    out(f"load average at end: {loadavg()}")
    try:
        with open(os.path.join(args.work, "serve.log")) as f:
            log = f.read().splitlines()
        bad = [l for l in log if " WARN " in l or " ERROR " in l]
        out(f"dialtone serve log: {len(log)} lines, {len(bad)} WARN/ERROR")
        for l in bad[:8]:
            out(f"    {l[:300]}")
    except OSError:
        pass
    if not args.setup_only:
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as f:
            f.write("\n".join(out.lines) + "\n")
        with open(args.out.replace(".txt", ".json"), "w") as f:
            json.dump({"results": [{k: v for k, v in r.items() if k != "sipp"} | {"sipp": {k: v for k, v in r["sipp"].items() if k != "rtt"}}
                                   for r in results], "lookups": lookups}, f, indent=1)
        print(f"\nwritten to {args.out}")
    if args.keep or not temp_data:
        print(f"kept {args.work}" + ("" if temp_data else f" (data dir {args.data} is kept)"))
    else:
        shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
