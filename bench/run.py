"""The benchmark harness: rampart against the local emulator at growing sizes.

Usage: run.py --binary PATH [--sizes 10,100,1000] [--pure 10000] [--parallelism 10]
              [--json bench/results.json] [--markdown bench/results.md]

For each size (resources, rounded to whole data domains of bench/generate.py) it starts an
emulator of its own and measures, each as one run of the real binary with `--stats=json`:

- apply from empty;
- plan of the converged account (refresh and diff; it must plan no change);
- drift of the converged account (it must find none);
- the pure planning path: `plan --refresh=false` (parse, load the state, validate, graph,
  diff; no AWS call), in process (the phases' own timings) and as the whole process, the
  median of 7 runs one after another, and in process after 3 s idle (median of 3);

with wall time, AWS calls and peak memory (the child's maximum resident set). It also measures
the emulator's own throughput at the same concurrency, with the same mix of services as the
plan, from raw HTTP requests, so that "the emulator's floor" is calls / throughput: no client
could plan faster against it. `--pure N` measures the planning path once more at N resources,
with a converged state made by copying the largest applied size's domains (renamed), since
applying tens of thousands of resources to the emulator would take hours.

Prints a table and writes it as JSON (and the table as Markdown).
"""

import argparse
import json
import math
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import generate  # noqa: E402


class Emulator:
    """A moto server of the benchmark's own, on a free loopback port."""

    def __init__(self):
        python = ROOT / ".venv/bin/python"
        self.proc = subprocess.Popen(
            [str(python), str(ROOT / "tests/emulator.py"), "0"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        line = self.proc.stdout.readline().strip()
        if not line.startswith("ready "):
            raise SystemExit(f"the emulator did not start: {line!r}")
        self.port = int(line.split()[1])
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def run(binary, args, cwd, endpoint, expect):
    """Runs the binary; returns wall seconds, peak RSS in MB, and its --stats report."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(cwd),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }
    started = time.monotonic()
    proc = subprocess.Popen(
        [str(binary), *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    # Drained on a thread: os.wait4 must reap the child to read its own peak memory.
    chunks = []
    reader = threading.Thread(target=lambda: chunks.append(proc.stderr.read()))
    reader.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    reader.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = b"".join(chunks).decode(errors="replace")
    if proc.returncode != expect:
        raise SystemExit(
            f"`rampart {' '.join(args)}` exited {proc.returncode}, not {expect}:\n{err[-3000:]}"
        )
    stats = json.loads(err.strip().splitlines()[-1]) if "--stats=json" in args else {}
    # ru_maxrss is in kilobytes on Linux.
    return {"wall_s": wall, "peak_mb": usage.ru_maxrss / 1024, "stats": stats}


def phase(stats, *names):
    return sum(p["seconds"] for p in stats.get("phases", []) if p["name"] in names)


PURE_RUNS = 7
# Runs after an idle spell, and how long the spell: this VM's balloon hands free memory back
# to the host about 2 s after it is freed (free page reporting, in 2 MB blocks), and a process
# that then touches it waits for the host to fault it in again.
PURE_COLD_RUNS = 3
IDLE_S = 3


def cpu_model():
    """The processor's name, so that tables from different machines are not compared as one:
    the same binary's timings differ by nearly twice between two VMs of this project."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def reference_ms():
    """A fixed piece of pure CPU work in this Python, the median of 3 runs: a yardstick for
    the machine, since a VM's processor name rarely tells two machines apart."""
    def once():
        started = time.perf_counter()
        total = 0
        for i in range(5_000_000):
            total += i
        return 1000 * (time.perf_counter() - started)
    return statistics.median(once() for _ in range(3))


def in_process_ms(r):
    """A planning-path run's own time: its parse, state and diff phases."""
    return 1000 * phase(r["stats"], "parse", "state", "diff")


def pure_path(binary, work, endpoint, par):
    """The planning path, `PURE_RUNS` times after a warm-up run (a run is a fraction of a second,
    and this machine's noise is not): the median run's in-process time (parse, state and diff phases), whole
    process time and peak memory, with the fastest and slowest in-process times. Before them,
    the median in-process time of `PURE_COLD_RUNS` runs each after `IDLE_S` seconds idle."""
    args = ["plan", "bp.toml", "--refresh=false", "--detailed-exitcode", *par]
    cold = []
    for _ in range(PURE_COLD_RUNS):
        time.sleep(IDLE_S)
        r = run(binary, args, work, endpoint, 0)
        cold.append(in_process_ms(r))
    # One run first, not counted: the runs timed follow each other, as a warm machine's do.
    run(binary, args, work, endpoint, 0)
    runs = []
    for _ in range(PURE_RUNS):
        r = run(binary, args, work, endpoint, 0)
        runs.append({
            "pure_ms": in_process_ms(r),
            "pure_process_ms": 1000 * r["wall_s"],
            "pure_mb": r["peak_mb"],
        })
    runs.sort(key=lambda r: r["pure_ms"])
    median = dict(runs[len(runs) // 2])
    median["pure_ms_range"] = [runs[0]["pure_ms"], runs[-1]["pure_ms"]]
    median["pure_cold_ms"] = statistics.median(cold)
    return median


def read_message(sock_file, head_request=False):
    """One HTTP/1.1 message from a socket file: (head lines, raw bytes)."""
    raw = bytearray()
    head = []
    while True:
        line = sock_file.readline()
        if not line:
            raise ConnectionError("connection closed mid-message")
        raw += line
        if line in (b"\r\n", b"\n"):
            break
        head.append(line.decode("latin-1").rstrip("\r\n"))
    headers = {}
    for h in head[1:]:
        k, _, v = h.partition(":")
        headers[k.strip().lower()] = v.strip()
    status = head[0].split(" ")[1] if head and head[0].startswith("HTTP/") else None
    if head_request or status in ("204", "304"):
        return head, bytes(raw)
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = sock_file.readline()
            raw += size
            n = int(size.split(b";")[0].strip() or b"0", 16)
            raw += sock_file.read(n + 2)
            if n == 0:
                break
    else:
        raw += sock_file.read(int(headers.get("content-length", "0")))
    return head, bytes(raw)


class Recorder:
    """A loopback proxy that records every request it forwards to the emulator, as sent."""

    def __init__(self, upstream_port):
        self.requests = []
        self.lock = threading.Lock()
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self.upstream = upstream_port
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        # The emulator closes each connection after its answer (`Connection: close`), and so
        # does this proxy: one request per connection, both sides.
        with conn, conn.makefile("rb") as client:
            try:
                head, raw = read_message(client)
            except ConnectionError:
                return
            with self.lock:
                self.requests.append(raw)
            conn.sendall(exchange(self.upstream, raw, head[0].startswith("HEAD ")))

    def stop(self):
        self.server.close()


def exchange(port, raw, head_request):
    """Sends one request on a connection of its own and returns the answer."""
    with socket.create_connection(("127.0.0.1", port)) as sock, sock.makefile("rb") as answers:
        sock.sendall(raw)
        return read_message(answers, head_request)[1]


def replay(requests, port, parallelism):
    """Seconds the emulator takes to answer exactly `requests` at `parallelism`, sent raw (a
    client that costs next to nothing; a connection per request, as the emulator closes each):
    the floor under any client."""
    queue = list(requests)
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if not queue:
                    return
                raw = queue.pop()
            exchange(port, raw, raw.startswith(b"HEAD "))

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(parallelism)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - started


def project(tmp, domains, prefix):
    work = Path(tmp) / prefix
    work.mkdir()
    shutil.copytree(ROOT / "blueprints/lambda", work / "lambda")
    (work / "bp.toml").write_text(generate.blueprint(domains, prefix))
    return work


def grown_state(state, domains, from_domains):
    """A converged state for `domains` domains, copied from one of `from_domains` domains."""
    shared, per_domain = [], {}
    for r in state["resources"]:
        m = re.search(r"\.d(\d{4})", r["address"])
        if m:
            per_domain.setdefault(int(m.group(1)), []).append(r)
        else:
            shared.append(r)
    resources = list(shared)
    for d in range(domains):
        source = d % from_domains
        # The domain's token where a name, alias, address or description has it.
        token = re.compile(rf"(?<=[-./_ ])d{source:04}(?![0-9])")
        for r in per_domain[source]:
            resources.append(json.loads(token.sub(f"d{d:04}", json.dumps(r))))
    # The shared log bucket's grant (derived) names every bucket that logs to it.
    logging = sorted(
        r["id"] for r in resources if r["kind"] == "s3_bucket" and "access_logs" in r["attributes"]
    )
    for r in shared:
        if "log_delivery_from" in r["attributes"]:
            r["attributes"]["log_delivery_from"] = logging
    grown = dict(state)
    # In rampart's own order, as every state it writes is.
    grown["resources"] = sorted(resources, key=lambda r: r["address"])
    return grown


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", required=True, type=Path)
    ap.add_argument("--sizes", default="10,100,1000")
    ap.add_argument("--pure", type=int, default=10000)
    ap.add_argument("--parallelism", type=int, default=10)
    ap.add_argument("--json", type=Path, default=ROOT / "bench/results.json")
    ap.add_argument("--markdown", type=Path, default=ROOT / "bench/results.md")
    args = ap.parse_args()
    binary = args.binary.resolve()
    par = ["--parallelism", str(args.parallelism), "--no-progress", "--stats=json"]
    rows = []
    largest = None
    with tempfile.TemporaryDirectory() as tmp:
        for size in [int(s) for s in args.sizes.split(",")]:
            domains = max(1, math.ceil((size - generate.SHARED) / generate.PER_DOMAIN))
            prefix = f"bench{os.getpid() % 10000}-{size}"
            work = project(tmp, domains, prefix)
            emulator = Emulator()
            try:
                e = emulator.endpoint
                apply = run(binary, ["apply", "bp.toml", "--auto-approve", *par], work, e, 0)
                plan = run(binary, ["plan", "bp.toml", "--detailed-exitcode", *par], work, e, 0)
                drift = run(binary, ["drift", "bp.toml", *par], work, e, 0)
                # The floor: the plan's own requests, recorded on the way, replayed raw.
                recorder = Recorder(emulator.port)
                run(binary, ["plan", "bp.toml", "--detailed-exitcode", *par], work, f"http://127.0.0.1:{recorder.port}", 0)
                recorder.stop()
                floor = replay(recorder.requests, emulator.port, args.parallelism)
            finally:
                emulator.stop()
            # No call, so no emulator: its own work after an apply would only add noise.
            pure = pure_path(binary, work, "http://127.0.0.1:9", par)
            calls = plan["stats"]["total"]["calls"]
            resources = generate.resources(domains)
            rate = len(recorder.requests) / floor
            rows.append({
                "resources": resources,
                "apply_s": apply["wall_s"], "apply_calls": apply["stats"]["total"]["calls"], "apply_mb": apply["peak_mb"],
                "plan_s": plan["wall_s"], "plan_calls": calls, "plan_mb": plan["peak_mb"],
                "calls_per_resource": calls / resources,
                "drift_s": drift["wall_s"], "drift_calls": drift["stats"]["total"]["calls"], "drift_mb": drift["peak_mb"],
                **pure,
                "emulator_calls_per_s": rate, "floor_s": floor, "plan_vs_floor": plan["wall_s"] / floor,
                "plan_calls_by_operation": {f'{c["service"]} {c["operation"]}': c["calls"] for c in plan["stats"]["calls"]},
            })
            largest = (work, domains, prefix)
        if args.pure and largest:
            work, from_domains, prefix = largest
            domains = max(1, math.ceil((args.pure - generate.SHARED) / generate.PER_DOMAIN))
            (work / "bp.toml").write_text(generate.blueprint(domains, prefix))
            state_file = work / "state" / f"{prefix}.json"
            state = json.loads(state_file.read_text())
            # Laid out as rampart writes a state (serde_json's pretty form), so that the
            # load measured is the one a real state costs.
            grown = grown_state(state, domains, from_domains)
            state_file.write_text(json.dumps(grown, indent=2, ensure_ascii=False) + "\n")
            os.chmod(state_file, 0o600)
            # No emulator: the planning path makes no call (a dead endpoint proves it).
            pure = pure_path(binary, work, "http://127.0.0.1:9", par)
            rows.append({"resources": generate.resources(domains), **pure})
    example = ROOT / "blueprints/data-platform.toml"
    starts = sorted(run(binary, ["validate", str(example)], ROOT, "http://127.0.0.1:9", 0)["wall_s"] for _ in range(21))
    result = {
        "rampart": subprocess.run([str(binary), "--version"], capture_output=True, text=True).stdout.strip(),
        "parallelism": args.parallelism,
        "cpus": os.cpu_count(),
        "cpu": cpu_model(),
        "reference_ms": reference_ms(),
        "validate_example_ms": 1000 * starts[len(starts) // 2],
        "rows": rows,
    }
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    table = markdown(result)
    args.markdown.write_text(table)
    print(table)


def machine(result):
    """The machine a table was measured on, as far as this harness can tell."""
    cpu = result.get("cpu", "processor not recorded")
    if result.get("reference_ms") is None:
        return cpu
    return f"{cpu}; the yardstick, a fixed Python loop: {result['reference_ms']:.0f} ms"


def markdown(result):
    f = lambda v, fmt: "" if v is None else format(v, fmt)  # noqa: E731
    lines = [
        "| resources | apply from empty | plan (converged) | calls / resource | emulator floor | plan ÷ floor | drift | planning path (no AWS) | peak memory (plan) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        g = r.get
        lines.append(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
                r["resources"],
                f"{f(g('apply_s'), '.1f')} s, {g('apply_calls')} calls" if g("apply_s") else "",
                f"{f(g('plan_s'), '.2f')} s, {g('plan_calls')} calls" if g("plan_s") else "",
                f(g("calls_per_resource"), ".2f"),
                f"{f(g('floor_s'), '.2f')} s ({f(g('emulator_calls_per_s'), '.0f')} calls/s)" if g("floor_s") else "",
                f(g("plan_vs_floor"), ".2f"),
                f"{f(g('drift_s'), '.2f')} s" if g("drift_s") else "",
                f"{f(g('pure_ms'), '.1f')} ms ({f(g('pure_process_ms'), '.0f')} ms process, "
                f"{f(g('pure_cold_ms'), '.0f')} ms after {IDLE_S} s idle)",
                f"{f(g('plan_mb') or g('pure_mb'), '.0f')} MB",
            )
        )
    lines.append("")
    lines.append(
        f"Planning path: median of {PURE_RUNS} runs one after another; after {IDLE_S} s idle: "
        f"median of {PURE_COLD_RUNS} runs. "
        f"`rampart validate` of the example: {result['validate_example_ms']:.1f} ms (median of 21), "
        f"`--parallelism {result['parallelism']}`, {result['cpus']} CPUs ({machine(result)}), {result['rampart']}."
    )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
