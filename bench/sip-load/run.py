#!/usr/bin/env python3
"""SIP load benchmark for `dialtone serve --sip` (Python 3 standard library only).

Sets up a throwaway SQLite data directory (a call center, many Available
agents whose static SIP contact is one sipp UAS, a SIP trunk for 127.0.0.1),
starts `dialtone serve`, and at rising call rates runs a sipp UAC against
Dialtone and, in the same run, against a bare sipp UAS (the ceiling). For
each step it records calls attempted / successful / failed, the INVITE->180
response time, the achieved rate, CPU used by every process, and waits until
every successful call is a completed VoiceCall in the store.

INVITE->180 is measured twice:
  * sipp's own response time 1 (uac-rtd.xml starts it at the INVITE and stops
    it at the 180; per-call values from -trace_rtt). sipp's clock is
    CLOCK_MONOTONIC_COARSE, so these values come in 4 ms steps (HZ=250);
  * when run as root, from the loopback interface: a packet socket with a
    BPF filter that keeps only INVITEs to and 180s from the port under test,
    kernel timestamps (SO_TIMESTAMPNS), matched by Call-ID. Microsecond
    resolution; this is the figure the table shows when available.

Builds nothing: pass the binary (--dialtone or $DIALTONE_BIN, default
target/release/dialtone). Usage: bench/sip-load/run.py [--help]
"""

import argparse
import ctypes
import datetime
import glob
import json
import os
import re
import resource
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SCENARIO = os.path.join(HERE, "uac-rtd.xml")
CLK_TCK = os.sysconf("SC_CLK_TCK")

CC_XML = """<callCenter><section sortOrder="0" name="reqGeneralInfo" label="General Information">
<item sortOrder="0" name="reqInternalName" label="Internal Name">BenchCC</item>
<item sortOrder="1" name="reqDisplayName" label="Display Name">Bench</item>
<item sortOrder="2" name="reqAdapterUrl" label="CTI Adapter URL">/softphone</item>
<item sortOrder="3" name="reqUseApi" label="Use CTI API">true</item>
<item sortOrder="4" name="reqSoftphoneHeight" label="Softphone Height">500</item>
<item sortOrder="5" name="reqSoftphoneWidth" label="Softphone Width">320</item></section></callCenter>
"""


class Out:
    """Prints and keeps every line for the results file."""

    def __init__(self):
        self.lines = []

    def __call__(self, *parts):
        line = " ".join(str(p) for p in parts)
        print(line, flush=True)
        self.lines.append(line)


out = Out()


# ---------------------------------------------------------------- processes

def cpu_seconds(pid):
    """utime + stime of a live process, in seconds (None once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def udp_rcvbuf_errors():
    """System-wide UDP datagrams dropped on a full socket receive buffer."""
    with open("/proc/net/snmp") as f:
        rows = [l.split() for l in f if l.startswith("Udp:")]
    return int(dict(zip(rows[0], rows[1]))["RcvbufErrors"])


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(cmd, data=None, check=True, **kw):
    p = subprocess.run(cmd, input=data, capture_output=True, text=True, **kw)
    if check and p.returncode != 0:
        raise SystemExit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
    return p


# ---------------------------------------------------------------- loopback capture

SO_ATTACH_FILTER = 26
SO_TIMESTAMPNS = 35
ETH_P_IP = 0x0800


def bpf(code, jt, jf, k):
    return struct.pack("HBBI", code, jt, jf, k & 0xFFFFFFFF)


def invite_180_filter(port):
    """Classic BPF over the IP header (SOCK_DGRAM packet socket): UDP, not a
    fragment, and either dst port == port with a payload starting "INVI", or
    src port == port with a payload starting "SIP/2.0 180 "."""
    w = lambda s: struct.unpack(">I", s)[0]
    prog = [
        bpf(0x30, 0, 0, 9),            # 0 ldb [9]  protocol
        bpf(0x15, 0, 14, 17),          # 1 jeq 17 ? 2 : drop
        bpf(0x28, 0, 0, 6),            # 2 ldh [6]  flags/fragment
        bpf(0x45, 12, 0, 0x1FFF),      # 3 jset 0x1fff ? drop : 4
        bpf(0xB1, 0, 0, 0),            # 4 ldxb 4*([0]&0xf)
        bpf(0x48, 0, 0, 2),            # 5 ldh [x+2]  dst port
        bpf(0x15, 0, 2, port),         # 6 jeq port ? 7 : 9
        bpf(0x40, 0, 0, 8),            # 7 ld [x+8]  payload[0:4]
        bpf(0x15, 6, 7, w(b"INVI")),   # 8 jeq "INVI" ? accept : drop
        bpf(0x48, 0, 0, 0),            # 9 ldh [x+0]  src port
        bpf(0x15, 0, 5, port),         # 10 jeq port ? 11 : drop
        bpf(0x40, 0, 0, 16),           # 11 ld [x+16]  payload[8:12]
        bpf(0x15, 0, 3, w(b"180 ")),   # 12 jeq "180 " ? 13 : drop
        bpf(0x40, 0, 0, 8),            # 13 ld [x+8]
        bpf(0x15, 0, 1, w(b"SIP/")),   # 14 jeq "SIP/" ? accept : drop
        bpf(0x06, 0, 0, 0x40000),      # 15 accept
        bpf(0x06, 0, 0, 0),            # 16 drop
    ]
    return prog


CALL_ID = re.compile(rb"\r\n(?:call-id|i)[ \t]*:[ \t]*([^\r\n]+)", re.I)


class Sniffer:
    """Kernel-timestamped INVITE and 180 per Call-ID on loopback."""

    def __init__(self, port, prog=None, on_packet=None):
        """prog: another BPF program (default: INVITEs to and 180s from port);
        on_packet(ts, ip_datagram): called for every packet instead of the
        INVITE/180 tables (bench/screen-pop uses both)."""
        self.port = port
        self.on_packet = on_packet
        self.invite = {}
        self.ringing = {}
        self.packets = 0
        self.stop_flag = False
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
        prog = prog or invite_180_filter(port)
        self._buf = ctypes.create_string_buffer(b"".join(prog))
        fprog = struct.pack("@HP", len(prog), ctypes.addressof(self._buf))
        self.sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock.bind(("lo", ETH_P_IP))
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.stop_flag:
            r, _, _ = select.select([self.sock], [], [], 0.2)
            if not r:
                continue
            while True:
                try:
                    data, anc, _, _ = self.sock.recvmsg(2048, 64, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    break
                ts = None
                for level, typ, cdata in anc:
                    if level == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS:
                        sec, nsec = struct.unpack("qq", cdata[:16])
                        ts = sec + nsec / 1e9
                if ts is None:
                    ts = time.time()
                self.packets += 1
                if self.on_packet:
                    self.on_packet(ts, data)
                    continue
                ihl = (data[0] & 0xF) * 4
                payload = data[ihl + 8:]
                m = CALL_ID.search(payload)
                if not m:
                    continue
                cid = m.group(1).strip()
                table = self.invite if payload.startswith(b"INVITE") else self.ringing
                if cid not in table or ts < table[cid]:
                    table[cid] = ts

    def stop(self):
        time.sleep(0.3)
        self.stop_flag = True
        self.thread.join()
        self.sock.close()
        lat = [(self.ringing[c] - t) * 1000 for c, t in self.invite.items() if c in self.ringing]
        return {"invites": len(self.invite), "matched": len(lat), "ms": sorted(lat)}


def can_sniff():
    try:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
        s.close()
        return True
    except (PermissionError, OSError):
        return False


# ---------------------------------------------------------------- sipp

def pct(sorted_vals, p):
    if not sorted_vals:
        return None
    i = min(len(sorted_vals) - 1, max(0, int(round(p / 100 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[i]


def last_stat(path):
    with open(path) as f:
        rows = [l.rstrip("\n").split(";") for l in f if l.strip()]
    head, last = rows[0], rows[-1]
    return dict(zip(head, last))


def sipp_uac(args, workdir, target, local_port, rate, calls, media_port, control_port, scenario=SCENARIO, extra=()):
    os.makedirs(workdir, exist_ok=True)
    cmd = [
        args.sipp, "-sf", scenario, *extra, target, "-i", "127.0.0.1", "-p", str(local_port),
        "-mp", str(media_port), "-cp", str(control_port),
        "-m", str(calls), "-r", str(rate), "-l", str(args.limit),
        "-recv_timeout", str(args.recv_timeout_ms), "-timeout", f"{calls // rate + 120}s",
        "-nostdin", "-trace_stat", "-fd", "1", "-trace_rtt",
        "-trace_err", "-trace_screen",
    ]
    started = time.monotonic()
    p = subprocess.run(cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - started
    stat_files = glob.glob(os.path.join(workdir, "*_.csv"))
    res = {"rc": p.returncode, "wall": wall, "stderr": p.stderr.strip()[-400:]}
    if not stat_files:
        res.update(created=0, ok=0, failed=calls, retrans=0, elapsed=wall, rtt=[])
        return res
    st = last_stat(stat_files[0])
    g = lambda k: int(float(st.get(k, "0") or 0))
    res.update(
        created=g("OutgoingCall(C)"), ok=g("SuccessfulCall(C)"), failed=g("FailedCall(C)"),
        retrans=g("Retransmissions(C)"), dead=g("DeadCallMsgs(C)"), unexpected=g("FailedUnexpectedMessage(C)"),
        timeouts=g("FailedTimeoutOnRecv(C)"), maxretrans=g("FailedMaxUDPRetrans(C)"), rejected=g("FailedCallRejected(C)"),
    )
    # when the last call was created (first periodic dump, 1 s apart, with every call created)
    res["span"] = None
    with open(stat_files[0]) as f:
        rows = [l.rstrip("\n").split(";") for l in f if l.strip()]
    head = rows[0]
    try:
        ic, it, i0 = head.index("OutgoingCall(C)"), head.index("CurrentTime"), head.index("StartTime")
        for r_ in rows[1:]:
            if int(r_[ic]) >= res["created"]:
                res["span"] = float(r_[it].split()[-1]) - float(r_[i0].split()[-1])
                break
    except (ValueError, IndexError):
        pass
    try:  # "date<TAB>time<TAB>epoch": the elapsed column has whole seconds only
        res["elapsed"] = float(st["CurrentTime"].split()[-1]) - float(st["StartTime"].split()[-1])
    except (KeyError, ValueError, IndexError):
        res["elapsed"] = wall
    rtt = []
    for f in glob.glob(os.path.join(workdir, "*_rtt.csv")):
        with open(f) as fh:
            next(fh, None)
            for line in fh:
                parts = line.strip().split(";")
                if len(parts) == 3 and parts[2] == "1":
                    rtt.append(float(parts[1]))
    res["rtt"] = sorted(rtt)
    errs = glob.glob(os.path.join(workdir, "*_errors.log"))
    res["errors_file"] = errs[0] if errs else None
    return res


def start_uas(args, workdir, port, media_port, control_port):
    os.makedirs(workdir, exist_ok=True)
    cmd = [args.sipp, "-sn", "uas", "-i", "127.0.0.1", "-p", str(port), "-mp", str(media_port),
           "-cp", str(control_port), "-nostdin", "-trace_err", "-trace_stat", "-fd", "5"]
    p = subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    if p.poll() is not None:
        raise SystemExit(f"sipp UAS on {port} exited at once ({p.returncode}); is the port taken?")
    return p


# ---------------------------------------------------------------- dialtone

def dialtone(args, *a, data=None, check=True):
    return run([args.dialtone, *a, "--data", args.data], data=data, check=check)


def soql_count(args, soql):
    p = dialtone(args, "query", soql, check=False)
    m = re.search(r"totalSize:\s*(\d+)", p.stderr)
    return int(m[1]) if m else None


def dispositions(args):
    p = dialtone(args, "query", "SELECT CallDisposition, COUNT(Id) FROM VoiceCall GROUP BY CallDisposition", check=False)
    d = {}
    for line in p.stdout.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        vals = list(row.values())
        if len(vals) == 2:
            d[str(vals[0])] = vals[1]
    return d


def setup(args):
    t0 = time.monotonic()
    xml = os.path.join(args.work, "cc.xml")
    with open(xml, "w") as f:
        f.write(CC_XML)
    dialtone(args, "callcenter", "import", xml)
    for i in range(1, args.agents + 1):
        user = f"agent{i}@example.com"
        dialtone(args, "user", "add", user, "--profile", "Agent", "--call-center", "BenchCC",
                 "--sip-contact", f"sip:agent{i}@127.0.0.1:{args.agent_port}", data="secret123\n")
        dialtone(args, "agent", "status", user, "Available")
    cps = ["--max-cps", str(args.max_cps)] if args.max_cps else []
    dialtone(args, "trunk", "add", "carrier", "--provider", "sip", "--match-ip", "127.0.0.1",
             "--call-center", "BenchCC", "--queue-timeout", "5", *cps)
    return time.monotonic() - t0


def stop_all(procs, timeout):
    """SIGINT each process still running (last started first), then kill what
    has not exited within `timeout` seconds (bench/screen-pop uses it too)."""
    for p in reversed(procs):
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    for p in reversed(procs):
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()


def start_serve(args, env=None, timeout=30, settle=1.5):
    """`dialtone serve --sip` on the bench's ports; returns once /health answers
    and the SIP directory had `settle` seconds to load (bench/screen-pop uses it too)."""
    log = open(os.path.join(args.work, "serve.log"), "w")
    cmd = [args.dialtone, "serve", "--data", args.data, "--http", f"127.0.0.1:{args.http_port}",
           "--sip", f"127.0.0.1:{args.sip_port}"]
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise SystemExit(f"dialtone serve exited ({p.returncode}); see {log.name}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{args.http_port}/health", timeout=1).read()
            time.sleep(settle)  # let the SIP directory load
            return p
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"dialtone serve did not become healthy in {timeout} s")


def wait_persisted(args, before, expected_delta, uac_done):
    """Polls completed VoiceCalls until before+expected_delta (or stuck).
    Returns (count delta, seconds after the UAC finished, reached)."""
    target = before + expected_delta
    last, last_change = None, time.monotonic()
    while True:
        n = soql_count(args, "SELECT COUNT() FROM VoiceCall WHERE CallDisposition = 'completed'")
        now = time.monotonic()
        if n is not None and n >= target:
            return n - before, now - uac_done, n == target
        if n != last:
            last, last_change = n, now
        if now - last_change > args.persist_stall or now - uac_done > args.persist_timeout:
            return (n or before) - before, now - uac_done, False
        time.sleep(0.1)


# ---------------------------------------------------------------- main

def fmt(v, nd=2):
    return "-" if v is None else f"{v:.{nd}f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dialtone", default=os.environ.get("DIALTONE_BIN", os.path.join(REPO, "target/release/dialtone")))
    ap.add_argument("--sipp", default=shutil.which("sipp") or "sipp")
    ap.add_argument("--rates", default="100,250,500,750,1000,1250,1500,2000,2500,3000",
                    help="calls/s per step, rising")
    ap.add_argument("--seconds", type=float, default=10, help="length of each step (calls = rate x seconds)")
    ap.add_argument("--agents", type=int, default=200)
    ap.add_argument("--max-cps", type=int, default=0,
                    help="the trunk's calls-per-second limit (trunk add --max-cps); excess INVITEs get 503. 0: none")
    ap.add_argument("--limit", type=int, default=10000, help="sipp -l (concurrent calls cap)")
    ap.add_argument("--recv-timeout-ms", type=int, default=10000)
    ap.add_argument("--persist-timeout", type=float, default=120)
    ap.add_argument("--persist-stall", type=float, default=15)
    ap.add_argument("--stop-after", type=int, default=2, help="stop a side after this many failing steps in a row")
    ap.add_argument("--base-port", type=int, default=25000,
                    help="SIP +60, HTTP +80, agent UAS +70, direct UAS +90, UACs +81/+82, media/control above")
    ap.add_argument("--no-capture", action="store_true", help="skip the loopback capture (sipp rtt only)")
    ap.add_argument("--out", default=None, help="results file (default bench/results/sip-load-DATE.txt)")
    ap.add_argument("--keep", action="store_true", help="keep the temp directory")
    args = ap.parse_args()

    rates = [int(r) for r in args.rates.split(",")]
    b = args.base_port
    args.sip_port, args.http_port, args.agent_port, args.direct_port = b + 60, b + 80, b + 70, b + 90
    args.dialtone = os.path.abspath(args.dialtone)
    if not os.access(args.dialtone, os.X_OK):
        raise SystemExit(f"no dialtone binary at {args.dialtone} (build it: cargo build --release -p dialtone)")
    args.work = tempfile.mkdtemp(prefix="sip-load-")
    args.data = os.path.join(args.work, "data")
    stamp = datetime.datetime.now().strftime("%Y-%m-%d-%H%M")
    args.out = args.out or os.path.join(REPO, "bench", "results", f"sip-load-{stamp}.txt")
    capture = not args.no_capture and can_sniff()

    with open("/proc/loadavg") as f:
        load0 = " ".join(f.read().split()[:3])
    cpu_model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    git = run(["git", "-C", REPO, "log", "-1", "--format=%h %s"], check=False).stdout.strip()
    out(f"# sip-load {datetime.datetime.now().isoformat(timespec='seconds')}")
    out(f"command: {' '.join([sys.argv[0], *sys.argv[1:]])}")
    out(f"dialtone: {args.dialtone} ({run([args.dialtone, '--version'], check=False).stdout.strip()}); tree: {git}")
    out(f"sipp: {(run([args.sipp, '-v'], check=False).stdout.strip().splitlines() or ['?'])[0].strip()}")
    out(f"machine: nproc {os.cpu_count()}, {cpu_model}, load average at start {load0}")
    out(f"steps: rates {rates} calls/s, {args.seconds:g} s each; {args.agents} agents; sipp -l {args.limit}; "
        f"INVITE->180 from {'loopback capture (kernel timestamps) and sipp rtd' if capture else 'sipp rtd only (4 ms steps)'}")
    out(f"work dir: {args.work}")

    procs = []
    try:
        took = setup(args)
        out(f"setup: {args.agents} agents etc. in {took:.1f} s")
        serve = start_serve(args)
        procs.append(serve)
        agents_uas = start_uas(args, os.path.join(args.work, "uas-agents"), args.agent_port, b + 1000, b + 1900)
        direct_uas = start_uas(args, os.path.join(args.work, "uas-direct"), args.direct_port, b + 1200, b + 1901)
        procs += [agents_uas, direct_uas]

        c0 = cpu_seconds(serve.pid)
        time.sleep(5)
        idle = (cpu_seconds(serve.pid) - c0) / 5
        out(f"dialtone idle CPU (SIP directory refresh etc.), 5 s before the first step: {1000 * idle:.0f} ms/s ({100 * idle:.1f}% of a core)")
        rows = []
        fails = {"dt": 0, "direct": 0}
        completed0 = soql_count(args, "SELECT COUNT() FROM VoiceCall WHERE CallDisposition = 'completed'") or 0
        cum_ok = 0
        for rate in rates:
            calls = max(1, int(rate * args.seconds))
            row = {"rate": rate, "calls": calls}
            # --- through Dialtone
            if fails["dt"] < args.stop_after:
                before = soql_count(args, "SELECT COUNT() FROM VoiceCall WHERE CallDisposition = 'completed'") or 0
                cpu0, uas0, kids0 = cpu_seconds(serve.pid), cpu_seconds(agents_uas.pid), children_cpu()
                drops0 = udp_rcvbuf_errors()
                sn = Sniffer(args.sip_port) if capture else None
                r = sipp_uac(args, os.path.join(args.work, f"dt-{rate}"), f"127.0.0.1:{args.sip_port}",
                             b + 81, rate, calls, b + 1400, b + 1902)
                uac_done = time.monotonic()
                cap = sn.stop() if sn else None
                cpu_uac = children_cpu() - kids0
                cpu1_run, uas1 = cpu_seconds(serve.pid), cpu_seconds(agents_uas.pid)
                r["drops"] = udp_rcvbuf_errors() - drops0
                delta, lag, exact = wait_persisted(args, before, r["ok"], uac_done)
                cpu1 = cpu_seconds(serve.pid)
                cum_ok += r["ok"]
                row["dt"] = r
                row["dt_cap"] = cap
                row["persist"] = {"delta": delta, "lag": lag, "exact": exact}
                row["dt_cpu"] = {"dialtone": cpu1 - cpu0, "dialtone_during": cpu1_run - cpu0, "uac": cpu_uac,
                                 "uas": (uas1 - uas0) if uas1 is not None else None}
                row["disp"] = dispositions(args)
                row["rss"] = rss_mib(serve.pid)
                bad = r["failed"] > 0 or r["ok"] < calls or not exact
                fails["dt"] = fails["dt"] + 1 if bad else 0
                c = row["dt_cpu"]
                out(f"[dialtone {rate}/s] created {r['created']} ok {r['ok']} failed {r['failed']} "
                    f"(timeouts {r['timeouts']}, unexpected {r['unexpected']}, max-retrans {r['maxretrans']}, rejected {r['rejected']}) "
                    f"retrans {r['retrans']} dead-msgs {r['dead']} UDP-rcvbuf-drops {r['drops']} elapsed {r['elapsed']:.2f}s "
                    f"(all created after {fmt(r['span'], 1)}s, 1 s resolution) completed-rate {r['created'] / max(r['elapsed'], 1e-9):.0f}/s sipp-rc {r['rc']}")
                out(f"    completed VoiceCalls +{delta} (expected +{r['ok']}) {'reached' if exact else 'NOT reached'} "
                    f"{lag:.2f}s after sipp finished; dispositions {row['disp']}; dialtone RSS {fmt(row['rss'], 0)} MiB")
                if cap:
                    out(f"    capture: {cap['invites']} INVITEs, {cap['matched']} with a 180; INVITE->180 ms "
                        f"p50 {fmt(pct(cap['ms'], 50), 3)} p90 {fmt(pct(cap['ms'], 90), 3)} p99 {fmt(pct(cap['ms'], 99), 3)} "
                        f"p99.9 {fmt(pct(cap['ms'], 99.9), 3)} max {fmt(cap['ms'][-1] if cap['ms'] else None, 3)}")
                out(f"    sipp rtd (4 ms steps): n {len(r['rtt'])} p50 {fmt(pct(r['rtt'], 50), 0)} p99 {fmt(pct(r['rtt'], 99), 0)} "
                    f"max {fmt(r['rtt'][-1] if r['rtt'] else None, 0)}")
                out(f"    CPU s: dialtone {c['dialtone']:.2f} ({c['dialtone_during']:.2f} while sipp ran, "
                    f"{1000 * c['dialtone'] / max(r['created'], 1):.3f} ms/call, {100 * c['dialtone_during'] / max(r['elapsed'], 1e-9):.0f}% of a core); "
                    f"sipp UAC {c['uac']:.2f}; agent UAS {fmt(c['uas'])}")
                if bad and r.get("errors_file"):
                    keep = os.path.join(args.work, f"errors-dialtone-{rate}.log")
                    shutil.copy(r["errors_file"], keep)
                    out(f"    sipp errors kept in {keep}")
                if serve.poll() is not None:
                    out(f"    dialtone serve EXITED ({serve.returncode})")
                    fails["dt"] = args.stop_after
            # --- sipp to sipp
            if fails["direct"] < args.stop_after:
                kids0 = children_cpu()
                u0 = cpu_seconds(direct_uas.pid)
                drops0 = udp_rcvbuf_errors()
                sn = Sniffer(args.direct_port) if capture else None
                r = sipp_uac(args, os.path.join(args.work, f"direct-{rate}"), f"127.0.0.1:{args.direct_port}",
                             b + 82, rate, calls, b + 1600, b + 1903)
                cap = sn.stop() if sn else None
                u1 = cpu_seconds(direct_uas.pid)
                r["drops"] = udp_rcvbuf_errors() - drops0
                row["direct"] = r
                row["direct_cap"] = cap
                row["direct_cpu"] = {"uac": children_cpu() - kids0, "uas": (u1 - u0) if u1 is not None else None}
                bad = r["failed"] > 0 or r["ok"] < calls
                fails["direct"] = fails["direct"] + 1 if bad else 0
                out(f"[direct {rate}/s] created {r['created']} ok {r['ok']} failed {r['failed']} retrans {r['retrans']} UDP-rcvbuf-drops {r['drops']} "
                    f"elapsed {r['elapsed']:.2f}s completed-rate {r['created'] / max(r['elapsed'], 1e-9):.0f}/s; "
                    f"INVITE->180 ms capture p50 {fmt(pct(cap['ms'], 50) if cap else None, 3)} p99 {fmt(pct(cap['ms'], 99) if cap else None, 3)}; "
                    f"CPU s: UAC {row['direct_cpu']['uac']:.2f} UAS {fmt(row['direct_cpu']['uas'])}")
            rows.append(row)
            if fails["dt"] >= args.stop_after and fails["direct"] >= args.stop_after:
                break
    finally:
        stop_all(procs, timeout=10)

    with open("/proc/loadavg") as f:
        load1 = " ".join(f.read().split()[:3])

    # ---- table
    out("")
    out("| rate (calls/s) | calls | dialtone ok / failed | completed/s (calls ÷ first INVITE→last BYE) | persisted (lag after last call) | "
        "INVITE→180 p50 / p99 ms (capture) | sipp rtd p50 / p99 ms | dialtone CPU ms/call | sipp→sipp ok / failed | sipp→sipp p50 / p99 ms |")
    out("|---|---|---|---|---|---|---|---|---|---|")
    best_dt = best_direct = None
    for row in rows:
        dt, d = row.get("dt"), row.get("direct")
        if dt:
            p = row["persist"]
            cap = row["dt_cap"]
            persisted = ("yes" if p["exact"] else f"NO ({p['delta']}/{dt['ok']})") + f" ({p['lag']:.1f} s)"
            ok_dt = dt["failed"] == 0 and dt["ok"] == row["calls"] and p["exact"]
            if ok_dt:
                best_dt = max(best_dt or 0, row["rate"])
            dcol = (f"{dt['ok']} / {dt['failed']} | {dt['created'] / max(dt['elapsed'], 1e-9):.0f} | {persisted} | "
                    f"{fmt(pct(cap['ms'], 50) if cap else None)} / {fmt(pct(cap['ms'], 99) if cap else None)} | "
                    f"{fmt(pct(dt['rtt'], 50), 0)} / {fmt(pct(dt['rtt'], 99), 0)} | "
                    f"{1000 * row['dt_cpu']['dialtone'] / max(dt['created'], 1):.3f}")
        else:
            dcol = "skipped | | | | | "
        if d:
            cap = row["direct_cap"]
            if d["failed"] == 0 and d["ok"] == row["calls"]:
                best_direct = max(best_direct or 0, row["rate"])
            ecol = (f"{d['ok']} / {d['failed']} | {fmt(pct(cap['ms'], 50) if cap else None)} / "
                    f"{fmt(pct(cap['ms'], 99) if cap else None)}")
        else:
            ecol = "skipped | "
        out(f"| {row['rate']} | {row['calls']} | {dcol} | {ecol} |")
    clean = None  # the highest rate with every step up to it clean (noise makes the two differ)
    for row in rows:
        dt = row.get("dt")
        if not dt or dt["failed"] or dt["ok"] != row["calls"] or not row["persist"]["exact"]:
            break
        clean = row["rate"]
    out("")
    out(f"highest rate with zero failed calls and every call persisted (dialtone): {best_dt or 'none'} calls/s"
        + (f" (every step clean up to {clean or 'none'} calls/s)" if clean != best_dt else ""))
    out(f"highest rate with zero failed calls, sipp UAC -> sipp UAS directly: {best_direct or 'none'} calls/s"
        + (" (the highest rate tried: the ceiling is at least this)" if best_direct == rates[-1] else ""))
    if best_dt and best_direct:
        out(f"ratio: {best_dt / best_direct:.2f}")
    tot_calls = sum(r["dt"]["created"] for r in rows if r.get("dt"))
    tot_cpu = sum(r["dt_cpu"]["dialtone"] for r in rows if r.get("dt"))
    out(f"dialtone CPU over all dialtone steps: {tot_cpu:.2f} s for {tot_calls} calls = {1000 * tot_cpu / max(tot_calls, 1):.3f} ms/call")
    out(f"load average at end: {load1}")
    warn = 0
    try:
        with open(os.path.join(args.work, "serve.log")) as f:
            log = f.read()
        warn = sum(1 for l in log.splitlines() if " WARN " in l or " ERROR " in l)
        out(f"dialtone serve log: {len(log.splitlines())} lines, {warn} WARN/ERROR")
        for l in [l for l in log.splitlines() if " WARN " in l or " ERROR " in l][:5]:
            out(f"    {l[:300]}")
    except OSError:
        pass

    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write("\n".join(out.lines) + "\n")
    print(f"\nwritten to {args.out}")
    if args.keep:
        print(f"kept {args.work}")
    else:
        shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
