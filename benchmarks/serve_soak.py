#!/usr/bin/env python3
"""Soak test of `ser serve`: hours of mixed and hostile traffic, compressed.

Starts `ser serve` on a free loopback port with a profile database of its own,
then runs, all at once for --seconds:

  * predictions with a raw audio body and with a multipart form;
  * WebSocket streams (format message, PCM frames, end) that read their events;
  * a WebSocket client that sends PCM and never reads (the server must hold back,
    not buffer its answers without bound);
  * speaker-profile updates, reads and deletions;
  * uploads trickling at 1 byte per second;
  * bodies over the upload limit, bodies shorter than their Content-Length,
    and clients that send a whole request and hang up before the answer.

It samples the server's resident memory and open file descriptors every second.
Pass: no 5xx answer other than the documented 503, resident memory flat (the
slope after warm-up is reported, and the end may not exceed the warm-up level
by more than the allowance), and file descriptors back to their baseline once
every client has gone. It prints p50/p99 latency per kind of request, and
exits 1 on failure.

  python3 benchmarks/serve_soak.py --binary .build/release/ser --seconds 1800
  python3 benchmarks/serve_soak.py --seconds 60          # what CI runs

Only the standard library is used (the WebSocket client is written here).
"""
import argparse
import base64
import http.client
import json
import math
import os
import random
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Tally:
    """Answers and latencies per kind of request, shared by the worker threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = {}
        self.statuses = {}
        self.unexpected = []

    def record(self, kind, status, seconds=None, allowed=None):
        with self.lock:
            self.statuses.setdefault(kind, {}).setdefault(status, 0)
            self.statuses[kind][status] += 1
            if seconds is not None:
                self.latencies.setdefault(kind, []).append(seconds)
            server_error = isinstance(status, int) and status >= 500 and status != 503
            if server_error or (allowed is not None and status not in allowed):
                self.unexpected.append((kind, status))


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(math.ceil(fraction * len(ordered))) - 1)] if ordered else float("nan")


def voice_pcm(seconds=3.0, rate=16000):
    """A voiced signal (harmonics with vibrato, in syllables) as s16le bytes."""
    samples = []
    phase = 0.0
    for n in range(int(seconds * rate)):
        t = n / rate
        f0 = 160 + 25 * math.sin(2 * math.pi * 4 * t)
        phase += 2 * math.pi * f0 / rate
        envelope = max(0.0, math.sin(2 * math.pi * 2.5 * t)) ** 0.5
        value = envelope * sum(0.5 / k * math.sin(k * phase) for k in range(1, 8))
        samples.append(int(max(-1, min(1, 0.4 * value)) * 32767))
    return struct.pack("<%dh" % len(samples), *samples)


def wav_bytes(pcm, rate=16000):
    header = b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, 2 * rate, 2, 16)
    return header + b"data" + struct.pack("<I", len(pcm)) + pcm


class WebSocket:
    """The client side of RFC 6455, enough for /v1/stream."""

    def __init__(self, port, path="/v1/stream", timeout=30):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise ConnectionError(head.split(b"\r\n")[0].decode(errors="replace"))

    def send(self, payload, opcode):
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        elif length < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send_text(self, text):
        self.send(text.encode(), 0x1)

    def send_binary(self, data):
        self.send(data, 0x2)

    def _read(self, count):
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def receive(self):
        """The next text message (control frames are skipped); None when the server closed."""
        while True:
            try:
                first, second = self._read(2)
            except ConnectionError:
                return None
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(length)
            if opcode == 0x8:
                return None
            if opcode == 0x1:
                return payload.decode()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def request(port, method, path, body=b"", headers=None, timeout=120):
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        return response.status, data, time.monotonic() - started
    finally:
        connection.close()


def multipart(audio):
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.flac\"\r\n"
            f"Content-Type: audio/flac\r\n\r\n").encode() + audio + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/ser"))
    parser.add_argument("--model", help="model to serve (default: ser's shipped model)")
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--audio", default=os.path.join(ROOT, "examples/hello.flac"))
    parser.add_argument("--rss-allowance-mb", type=float, default=48,
                        help="how far resident memory at the end may exceed its level after warm-up")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    audio = open(args.audio, "rb").read()
    pcm = voice_pcm()
    workdir = tempfile.mkdtemp(prefix="ser-soak-")
    command = [args.binary, "serve", "--port", "0", "--log-level", "error", "--max-upload-mb", "4",
               "--idle-timeout", "10", "--profiles", os.path.join(workdir, "profiles.sqlite")]
    if args.model:
        command += ["--model", args.model]
    server = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    port = None
    started = time.monotonic()
    while port is None and time.monotonic() - started < 120:
        line = server.stderr.readline()
        if not line and server.poll() is not None:
            sys.exit(f"serve_soak: ser serve exited: {server.returncode}")
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if match:
            port = int(match.group(1))
    if port is None:
        server.kill()
        sys.exit("serve_soak: ser serve printed no address")
    threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()   # drain its log

    def rss_mb():
        with open(f"/proc/{server.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def open_fds():
        return len(os.listdir(f"/proc/{server.pid}/fd"))

    tally = Tally()
    # Warm up: one of each kind, so lazily made things (the encoder, the database, the
    # timers a first stream makes) exist before the baseline.
    tally.record("predict", *request(port, "POST", "/v1/predict", audio, {"Content-Type": "audio/flac"})[::2])
    request(port, "PUT", "/v1/profiles/warm", audio, {"Content-Type": "audio/flac"})
    request(port, "DELETE", "/v1/profiles/warm")
    warm_stream = WebSocket(port)
    warm_stream.send_text(json.dumps({"encoding": "s16le", "sample_rate": 16000, "window": 0.5, "hop": 0.5}))
    warm_stream.receive()
    warm_stream.send_binary(pcm[:16000])
    warm_stream.send_text('{"type": "end"}')
    while warm_stream.receive() is not None:
        pass
    warm_stream.close()
    time.sleep(1)
    baseline_fds = open_fds()

    stop = threading.Event()
    deadline = time.monotonic() + args.seconds

    def loop(body):
        def run():
            while not stop.is_set():
                try:
                    body()
                except (OSError, ConnectionError, http.client.HTTPException) as error:
                    tally.record(body.__name__, type(error).__name__)
                    time.sleep(0.2)
        return run

    def predict():
        status, _, seconds = request(port, "POST", "/v1/predict", audio, {"Content-Type": "audio/flac"})
        tally.record("predict", status, seconds, allowed={200, 503})

    def predict_multipart():
        body, content_type = multipart(audio)
        status, _, seconds = request(port, "POST", "/v1/predict?visuals=true", body, {"Content-Type": content_type})
        tally.record("multipart", status, seconds, allowed={200, 503})

    def profiles():
        name = f"soak-{random.randrange(4)}"
        status, _, seconds = request(port, "PUT", f"/v1/profiles/{name}", audio, {"Content-Type": "audio/flac"})
        tally.record("profile-put", status, seconds, allowed={200, 503})
        status, _, seconds = request(port, "GET", f"/v1/profiles/{name}")
        tally.record("profile-get", status, seconds, allowed={200, 404})
        if random.random() < 0.2:
            status, _, seconds = request(port, "DELETE", f"/v1/profiles/{name}")
            tally.record("profile-delete", status, seconds, allowed={204, 404})
        status, _, seconds = request(port, "POST", f"/v1/predict?profile={name}&learn=true", audio, {"Content-Type": "audio/flac"})
        tally.record("predict-learn", status, seconds, allowed={200, 503})

    def stream():
        began = time.monotonic()
        socket_ = WebSocket(port)
        try:
            socket_.send_text(json.dumps({"encoding": "s16le", "sample_rate": 16000, "window": 1, "hop": 0.5}))
            ready = json.loads(socket_.receive() or "{}")
            if ready.get("type") != "ready":
                tally.record("stream", f"not ready: {ready}", allowed=set())
                return
            for offset in range(0, len(pcm), 8000):
                socket_.send_binary(pcm[offset:offset + 8000])
            socket_.send_text('{"type": "end"}')
            events = 0
            while True:
                message = socket_.receive()
                if message is None:
                    break
                kind = json.loads(message).get("type")
                if kind == "event":
                    events += 1
                if kind in ("end", "error"):
                    break
            tally.record("stream", "ended" if kind == "end" and events > 0 else f"{kind} after {events} events",
                         time.monotonic() - began, allowed={"ended"})
        finally:
            socket_.close()

    def never_reads():
        """Sends PCM as fast as the server takes it, never reading an answer."""
        socket_ = WebSocket(port)
        socket_.sock.settimeout(2)
        blocked, opened, ending = 0, time.monotonic(), "until stopped"
        try:
            socket_.send_text(json.dumps({"encoding": "s16le", "sample_rate": 16000, "window": 0.5, "hop": 0.05}))
            while not stop.is_set():
                try:
                    socket_.send_binary(pcm[:16000])
                except socket.timeout:
                    blocked += 1     # the server holds back: the send buffer is full
                    time.sleep(0.5)
        except OSError:
            # The server's keep-alive ping went unanswered (this client reads nothing): it hung up.
            ending = f"until the server hung up after {time.monotonic() - opened:.0f} s"
        finally:
            tally.record("never-reads", (f"held back {blocked} times" if blocked else "never held back") + ", " + ending)
            socket_.close()

    def trickle():
        """An upload of 1 byte per second, for as long as the server keeps it."""
        connection = socket.create_connection(("127.0.0.1", port), timeout=15)
        try:
            connection.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: audio/flac\r\nContent-Length: 100000\r\n\r\n")
            sent = 0
            while not stop.is_set() and sent < 100000:
                connection.sendall(audio[sent:sent + 1])
                sent += 1
                stop.wait(1)
            tally.record("trickle", "sent until stopped" if stop.is_set() else "finished")
        except OSError:
            tally.record("trickle", "closed by the server")
        finally:
            connection.close()

    def hostile():
        kind = random.choice(["oversize", "truncated", "hang-up", "garbage"])
        connection = socket.create_connection(("127.0.0.1", port), timeout=30)
        try:
            if kind == "oversize":
                connection.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: audio/flac\r\nContent-Length: 8000000\r\n\r\n")
                try:
                    for _ in range(200):
                        connection.sendall(os.urandom(32768))
                except OSError:
                    pass   # the server may answer and close before the body ends
                answer = connection.recv(200)
                status = int(answer.split(b" ")[1]) if answer.startswith(b"HTTP/1.1 ") else "closed"
                tally.record("oversize", status, allowed={413, "closed"})
            elif kind == "truncated":
                connection.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: audio/flac\r\nContent-Length: 50000\r\n\r\n" + audio[:1000])
                tally.record("truncated", "sent")
            elif kind == "hang-up":
                connection.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: audio/flac\r\nContent-Length: "
                                   + str(len(audio)).encode() + b"\r\n\r\n" + audio)
                tally.record("hang-up", "sent")
            else:
                connection.sendall(os.urandom(random.randrange(1, 4000)))
                answer = connection.recv(200)
                status = int(answer.split(b" ")[1]) if answer.startswith(b"HTTP/1.1 ") else "closed"
                tally.record("garbage", status, allowed={400, 413, 431, "closed"})
        finally:
            connection.close()
        time.sleep(0.05)

    workers = [loop(predict), loop(predict_multipart), loop(profiles), loop(stream), loop(stream), loop(hostile)]
    threads = [threading.Thread(target=work, daemon=True) for work in workers]
    threads += [threading.Thread(target=never_reads, daemon=True)] + [threading.Thread(target=trickle, daemon=True) for _ in range(3)]
    for thread in threads:
        thread.start()

    samples = []
    began = time.monotonic()
    while time.monotonic() < deadline and server.poll() is None:
        samples.append((time.monotonic() - began, rss_mb(), open_fds()))
        time.sleep(1)
    stop.set()
    joined_by = time.monotonic() + 60
    for thread in threads:
        thread.join(timeout=max(0.1, joined_by - time.monotonic()))
    lingering = sum(thread.is_alive() for thread in threads)
    alive = server.poll() is None

    # Every client is gone: the server's descriptors must come back to the baseline.
    fds_after = None
    settle = time.monotonic() + 30
    while alive and time.monotonic() < settle:
        fds_after = open_fds()
        if fds_after <= baseline_fds:
            break
        time.sleep(0.5)

    warm = [s for s in samples if s[0] >= 0.2 * args.seconds]
    slope = float("nan")
    if len(warm) >= 3:
        mean_t = sum(s[0] for s in warm) / len(warm)
        mean_r = sum(s[1] for s in warm) / len(warm)
        slope = 60 * sum((s[0] - mean_t) * (s[1] - mean_r) for s in warm) / max(1e-9, sum((s[0] - mean_t) ** 2 for s in warm))
    warm_level = warm[0][1] if warm else float("nan")
    end_level = samples[-1][1] if samples else float("nan")
    peak = max((s[1] for s in samples), default=float("nan"))
    stopped_cleanly = None
    if alive:
        server.terminate()
        try:
            server.wait(timeout=30)
            stopped_cleanly = True
        except subprocess.TimeoutExpired:
            stopped_cleanly = False
            server.kill()
            server.wait()

    print(f"ser serve soak: {args.seconds:.0f} s, pid {server.pid}, model {args.model or 'shipped'}")
    print(f"{'request':<16}{'count':>8}{'p50 ms':>10}{'p99 ms':>10}  answers")
    for kind in sorted(tally.statuses):
        latencies = tally.latencies.get(kind, [])
        count = sum(tally.statuses[kind].values())
        answers = ", ".join(f"{status}: {n}" for status, n in sorted(tally.statuses[kind].items(), key=lambda item: str(item[0])))
        print(f"{kind:<16}{count:>8}{1000 * percentile(latencies, 0.5):>10.0f}{1000 * percentile(latencies, 0.99):>10.0f}  {answers}")
    print(f"resident memory: {warm_level:.0f} MB after warm-up, {end_level:.0f} MB at the end, peak {peak:.0f} MB, "
          f"slope {slope:+.2f} MB/min after warm-up")
    print(f"file descriptors: {baseline_fds} at the start, {fds_after} after every client left")

    if lingering:
        print(f"{lingering} client threads were still busy 60 s after the stop")
    failures = []
    if stopped_cleanly is False:
        failures.append("the server did not stop within 30 s of SIGTERM")
    if not alive:
        failures.append(f"the server died (exit {server.returncode})")
    if tally.unexpected:
        kinds = sorted({f"{kind} {status}" for kind, status in tally.unexpected})
        failures.append(f"{len(tally.unexpected)} unexpected answers: {', '.join(kinds[:8])}")
    if not (end_level <= warm_level + args.rss_allowance_mb):
        failures.append(f"resident memory grew {end_level - warm_level:.0f} MB after warm-up (allowance {args.rss_allowance_mb:.0f})")
    if fds_after is None or fds_after > baseline_fds:
        failures.append(f"file descriptors did not return to {baseline_fds} (now {fds_after})")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"seconds": args.seconds, "statuses": {k: {str(s): n for s, n in v.items()} for k, v in tally.statuses.items()},
                       "p99_ms": {k: 1000 * percentile(v, 0.99) for k, v in tally.latencies.items()},
                       "rss_mb": {"warm": warm_level, "end": end_level, "peak": peak, "slope_per_min": slope},
                       "fds": {"baseline": baseline_fds, "after": fds_after}, "failures": failures}, out, indent=2)
    if failures:
        print("FAIL: " + "; ".join(failures))
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()
