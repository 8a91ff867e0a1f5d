#!/usr/bin/env python3
"""Peak memory of `ser` on a long recording (run by hand, not by CI).

Makes a stereo 48 kHz 16-bit WAV of --hours hours (default 2, about 1.4 GB) of
tones and noise with sox, then runs `ser info` and `ser convert` to 16 kHz mono
FLAC and prints each command's wall time and peak resident memory.

    python3 scripts/measure_long_file.py [--hours 2] [--keep]
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_measured(command):
    """Runs a command in a fresh child process and returns (seconds, peak RSS in MiB)."""
    wrapper = ("import resource,subprocess,sys,time;t=time.time();"
               "r=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL);"
               "print(time.time()-t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)")
    out = subprocess.run([sys.executable, "-c", wrapper] + command, capture_output=True, text=True, check=True)
    seconds, rss_kib, status = out.stdout.split()
    if status != "0":
        sys.exit(f"{' '.join(command)} failed with status {status}")
    return float(seconds), int(rss_kib) / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()

    subprocess.run(["swift", "build", "-c", "release", "--product", "ser"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    ser = os.path.join(ROOT, ".build", "release", "ser")
    work = tempfile.mkdtemp(prefix="ser-long-")
    source = os.path.join(work, "long.wav")
    seconds = int(args.hours * 3600)
    subprocess.run(["sox", "-n", "-r", "48000", "-c", "2", "-b", "16", source, "synth", str(seconds),
                    "sine", "220", "pinknoise", "vol", "0.3"], check=True)
    size = os.path.getsize(source) / 2**30
    print(f"input: {args.hours:g} h, 48 kHz stereo 16-bit WAV, {size:.2f} GiB")
    for name, command in (
        ("ser info", [ser, "info", source]),
        ("ser convert → 16 kHz mono FLAC", [ser, "convert", source, "--out", os.path.join(work, "long16k.flac"),
                                             "--sample-rate", "16000", "--mono"]),
    ):
        elapsed, peak = run_measured(command)
        print(f"{name:34} {elapsed:7.1f} s  ({seconds / elapsed:5.0f}x real time)  peak RSS {peak:6.1f} MiB")
    if not args.keep:
        for f in os.listdir(work):
            os.remove(os.path.join(work, f))
        os.rmdir(work)


if __name__ == "__main__":
    main()
