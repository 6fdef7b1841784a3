#!/usr/bin/python3
"""An application written from proto/SPEC.md alone.

Attaches to a node's application socket (node/application = external),
answers PROPOSE with payloads `pyapp|NODE|HEIGHT|random` and VERIFY with
`valid` for payloads of that form whose bytes hash to the chunk's digest,
confirms and checks every Lock against the manifest. Runs until SIGTERM,
then prints one JSON line of what it saw (also kept, while it runs, in
the --report file, rewritten at most five times a second).

  py_app.py --manifest M.zpl --name NODE --app ENDPOINT
            [--decline N]   leave the first N PROPOSE asks unanswered
            [--bad-at H]    propose `bad|...` at height H (peers reject it)
            [--relent N]    reject a `bad|` payload N times, then accept it
            [--report FILE]"""
import argparse
import hashlib
import json
import os
import signal
import sys
import time

import zmq

import obref

stop = False


def on_term(*_):
    global stop
    stop = True


def write_report(path, st):
    with open(path + ".tmp", "w") as f:
        f.write(json.dumps(st) + "\n")
    os.replace(path + ".tmp", path)  # a reader never sees half a report


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--app", required=True)
    ap.add_argument("--decline", type=int, default=0)
    ap.add_argument("--bad-at", type=int, default=-1)
    ap.add_argument("--relent", type=int, default=-1)
    ap.add_argument("--report")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    manifest = obref.Manifest(a.manifest)
    own = manifest.keys[a.name]
    secp = obref.Secp()
    st = {"name": a.name, "asked_payload": 0, "declined": 0, "reasked_same_height": 0,
          "proposed": 0, "proposed_bad": 0, "verify_asked": 0, "verify_own": 0, "verified": 0,
          "rejected": 0, "bad_asks_max": 0, "bad_accepted": 0, "tips_own": 0, "tips_peer": 0,
          "locks": 0, "locks_verified": 0, "lock_errors": [], "own_locked_max": -1,
          "evidence": 0, "undecodable": 0}
    asked_heights = {}
    bad_asks = {}
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(a.app)
    attach = obref.frame(obref.ATTACH)
    last_attach = last_report = 0.0
    while not stop:
        now = time.time()
        if a.report and now - last_report >= 0.2:
            write_report(a.report, st)
            last_report = now
        if now - last_attach >= 0.5:  # the attach is also the heartbeat
            s.send(attach)
            last_attach = now
        if not s.poll(100):
            continue
        try:
            kind, m = obref.parse(s.recv())
        except obref.Malformed:
            st["undecodable"] += 1
            continue
        if kind == obref.ASK_PAYLOAD:
            h = m["height"]
            st["asked_payload"] += 1
            asked_heights[h] = asked_heights.get(h, 0) + 1
            if asked_heights[h] > 1:
                st["reasked_same_height"] += 1
            if st["declined"] < a.decline:
                st["declined"] += 1  # no answer: the node asks again later
                continue
            head = b"bad" if h == a.bad_at else b"pyapp"
            data = b"|".join([head, a.name.encode(), b"%d" % h, os.urandom(16).hex().encode()])
            s.send(obref.frame(obref.GIVE_PAYLOAD, ("u64", h), ("blob", data)))
            st["proposed"] += 1
            st["proposed_bad"] += head == b"bad"
        elif kind == obref.ASK_VERDICT:
            chunk = obref.chunk_decode(m["chunk"])
            st["verify_asked"] += 1
            if chunk["sequencer"] == own:
                st["verify_own"] += 1
            data = m["data"]
            valid = (hashlib.sha256(data).digest() == chunk["payload"]
                     and data.startswith(b"pyapp|"))
            if data.startswith(b"bad|"):
                n = bad_asks[m["chunk"]] = bad_asks.get(m["chunk"], 0) + 1
                st["bad_asks_max"] = max(st["bad_asks_max"], n)
                if 0 <= a.relent < n:
                    valid = True
                    st["bad_accepted"] += 1
            st["verified" if valid else "rejected"] += 1
            s.send(obref.frame(obref.GIVE_VERDICT, ("raw", m["chunk"]), ("bool", valid)))
        elif kind == obref.TIP:
            chunk = obref.chunk_decode(m["chunk"])
            st["tips_own" if chunk["sequencer"] == own else "tips_peer"] += 1
        elif kind == obref.LOCK:
            st["locks"] += 1
            why = obref.lock_check(manifest, secp, m["lock"])
            lock = obref.lock_decode(m["lock"]) if why is None else None
            if why:
                st["lock_errors"].append(why)
                continue
            st["locks_verified"] += 1
            chunk = obref.chunk_decode(lock["chunk"])
            if chunk["sequencer"] == own:
                st["own_locked_max"] = max(st["own_locked_max"], chunk["height"])
            s.send(obref.frame(obref.LOCK_RECEIVED, ("raw", lock["chunk"])))
        elif kind == obref.EVIDENCE:
            st["evidence"] += 1
    print(json.dumps(st))
    sys.stdout.flush()
    if a.report:
        write_report(a.report, st)
    s.close()
    ctx.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())
