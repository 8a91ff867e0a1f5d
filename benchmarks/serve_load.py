#!/usr/bin/env python3
"""Load test of `ser serve` on loopback (not run in CI).

Starts the release server, then wrk runs 64 concurrent clients posting a
3-second clip to /v1/predict for 60 s. Prints requests/s, p50/p90/p99 latency,
errors (socket errors and non-2xx answers) and the server's resident memory
sampled every 5 s, so a leak or a growing queue shows.

Needs: wrk (apt install wrk), ffmpeg, a release build (swift build -c release).
Usage: python3 benchmarks/serve_load.py [--clients 64] [--seconds 60] [CLIP]
       (default clip: the first 3 s of examples/hello.flac, as WAV)
"""
import argparse, os, re, signal, subprocess, sys, tempfile, threading, time, urllib.request

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
ser = os.path.join(root, ".build", "release", "ser")
parser = argparse.ArgumentParser()
parser.add_argument("--clients", type=int, default=64)
parser.add_argument("--seconds", type=int, default=60)
parser.add_argument("clip", nargs="?")
args = parser.parse_args()

with tempfile.TemporaryDirectory() as tmp:
    clip = args.clip
    if clip is None:
        clip = os.path.join(tmp, "clip.wav")
        subprocess.run(["ffmpeg", "-v", "quiet", "-i", os.path.join(root, "examples", "hello.flac"), "-t", "3", clip], check=True)
    # Port 0: the server picks a free port and prints it.
    server = subprocess.Popen([ser, "serve", "--port", "0", "--log-level", "warning"], stderr=subprocess.PIPE, text=True)
    line = server.stderr.readline()
    found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    if not found:
        sys.exit(f"the server did not start: {line}")
    port = int(found.group(1))
    threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    urllib.request.urlopen(base + "/healthz").read()

    lua = os.path.join(tmp, "post.lua")
    with open(lua, "w") as f:
        f.write(f"""
local file = io.open("{clip}", "rb")
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "audio/wav"
""")

    memory = []
    stop = threading.Event()
    def sample():
        while not stop.is_set():
            with open(f"/proc/{server.pid}/status") as status:
                rss = next(int(l.split()[1]) for l in status if l.startswith("VmRSS"))
            memory.append(rss / 1024)
            stop.wait(5)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()

    started = time.time()
    out = subprocess.run(["wrk", "-t", "2", "-c", str(args.clients), "-d", f"{args.seconds}s", "--timeout", "60s",
                          "--latency", "-s", lua, base + "/v1/predict"], capture_output=True, text=True).stdout
    stop.set()
    sampler.join()
    health = urllib.request.urlopen(base + "/healthz").read().decode()
    server.send_signal(signal.SIGTERM)
    code = server.wait(timeout=30)

    requests = re.search(r"(\d+) requests in ([\d.]+\w+)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    def percentile(p):
        m = re.search(rf"\s{p}%\s+([\d.]+\w+)", out)
        return m.group(1) if m else "?"
    socket_errors = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    duration = float(subprocess.run(["ffprobe", "-v", "quiet", "-show_entries", "format=duration", "-of", "csv=p=0", clip],
                                    capture_output=True, text=True).stdout or 0)
    print(f"clip: {duration:.1f} s WAV, {os.path.getsize(clip)} bytes; {args.clients} clients for {args.seconds} s")
    print(f"requests: {requests.group(1) if requests else '?'}; {rps.group(1) if rps else '?'} requests/s "
          f"({float(rps.group(1)) * duration if rps else 0:.0f}x real time)")
    print(f"latency: p50 {percentile(50)}, p90 {percentile(90)}, p99 {percentile(99)}")
    print(f"errors: socket {socket_errors.group(1) if socket_errors else 'none'}; non-2xx {non2xx.group(1) if non2xx else 0}")
    print("server RSS (MiB, every 5 s): " + ", ".join(f"{m:.0f}" for m in memory))
    print(f"after the run: {health}; server exit status on SIGTERM: {code}")
