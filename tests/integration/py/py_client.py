#!/usr/bin/python3
"""A submit client written from proto/SPEC.md alone.

Submits COUNT payloads to each node's submit socket, follows each to its
Lock, verifies the Lock's quorum of signatures itself against the
manifest, fetches the chunk's bytes and checks that the payload is the
entry the node named. Also sends one malformed submit and expects the
`malformed` refusal. Prints one JSON line of what it saw; exit 0 only if
everything checked out.

  py_client.py --manifest M.zpl --submit ENDPOINT [--submit ENDPOINT...]
               [--count N] [--vectors obcast-vectors.json] [--timeout S]
  py_client.py --manifest M.zpl --submit ENDPOINT --expect-refused NAME --size N
      one submit of N bytes, which must be refused with reason NAME"""
import argparse
import hashlib
import json
import os
import sys
import time

import zmq

import obref


def vector_selftest(path, secp):
    """The conformance vectors' Lock verifies under our own checker."""
    v = json.load(open(path))

    class M:
        namespace = v["namespace"].encode()
        epochs = {int(e): None for e in v["epochs"]}
        quorum = staticmethod(obref.Manifest.quorum)

        def validators(self, epoch):
            return sorted(bytes.fromhex(k) for k in v["epochs"][str(epoch)]["validators"])

        def sequencers(self, epoch):
            return {bytes.fromhex(k) for k in v["epochs"][str(epoch)]["sequencers"]}

    lock = bytes.fromhex(v["lock"]["encoding"])
    if obref.lock_check(M(), secp, lock) is not None:
        return False
    forged = bytearray(lock)
    forged[-1] ^= 1  # the last signature's last byte
    return obref.lock_check(M(), secp, bytes(forged)) is not None


def expect_refused(a):
    """One submit; 0 if its answer is submit_refused with that reason."""
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(a.submit[0])
    s.send(obref.frame(obref.SUBMIT, ("u64", 77), ("blob", b"x" * a.size)))
    got = "no answer"
    if s.poll(int(a.timeout * 1000)):
        kind, m = obref.parse(s.recv())
        got = ("refused %s" % obref.REFUSAL.get(m["reason"], m["reason"])
               if kind == obref.REFUSED and m["tag"] == 77 else "message %s" % (kind,))
    print(json.dumps({"size": a.size, "answer": got}))
    s.close()
    ctx.term()
    return 0 if got == "refused " + a.expect_refused else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--submit", action="append", required=True)
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--vectors")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--expect-refused")
    ap.add_argument("--size", type=int, default=0)
    a = ap.parse_args()
    if a.expect_refused:
        return expect_refused(a)

    manifest = obref.Manifest(a.manifest)
    secp = obref.Secp()
    report = {"submitted": 0, "queued": 0, "assigned": 0, "locked": 0, "locks_verified": 0,
              "included": 0, "refused": {}, "errors": []}
    if a.vectors:
        report["vector_lock"] = vector_selftest(a.vectors, secp)

    ctx = zmq.Context()
    socks = []
    for ep in a.submit:
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.IDENTITY, os.urandom(16))  # one routing id for life
        s.setsockopt(zmq.LINGER, 0)
        s.connect(ep)
        socks.append(s)

    # tag -> what we know; tags are ours, unique per socket here
    want = {}
    for si, s in enumerate(socks):
        for i in range(a.count):
            tag = si * 1000000 + i + 1
            data = b"py-client %d %d " % (si, i) + os.urandom(24)
            want[(si, tag)] = {"data": data, "state": "sent"}
            s.send(obref.frame(obref.SUBMIT, ("u64", tag), ("blob", data)))
            report["submitted"] += 1
        # A submit whose blob length runs past the frame: refused, not dropped.
        bad_tag = si * 1000000 + 999999
        s.send(obref.frame(obref.SUBMIT, ("u64", bad_tag), ("u32", 1000), ("raw", b"xyz")))
        want[(si, bad_tag)] = {"data": None, "state": "malformed-sent"}

    poller = zmq.Poller()
    for s in socks:
        poller.register(s, zmq.POLLIN)
    deadline = time.time() + a.timeout
    fetch_tags = {}
    pending = lambda: [k for k, w in want.items() if w["state"] not in ("done", "refused")]
    while pending() and time.time() < deadline:
        for s, _ in poller.poll(200):
            si = socks.index(s)
            try:
                kind, m = obref.parse(s.recv())
            except obref.Malformed as e:
                report["errors"].append("undecodable answer: %s" % e)
                continue
            if kind == obref.FORGOTTEN:
                # The node's built-in application restarted and forgot
                # what this socket had outstanding: all of it goes again.
                report["forgotten"] = report.get("forgotten", 0) + 1
                for (wsi, tag), w in want.items():
                    if wsi != si or w["state"] in ("done", "refused", "malformed-sent"):
                        continue
                    if w["state"] == "fetching":
                        ftag, sequencer, height = w["fetch"]
                        s.send(obref.frame(obref.FETCH, ("u64", ftag), ("raw", sequencer),
                                           ("u64", height)))
                    elif "height" in w:
                        s.send(obref.frame(obref.FOLLOW, ("u64", tag), ("u64", w["height"]),
                                           ("u32", w["index"]), ("raw", w["digest"])))
                    else:
                        s.send(obref.frame(obref.SUBMIT, ("u64", tag), ("blob", w["data"])))
                continue
            if kind in (obref.FETCH_FOUND, obref.FETCH_FAILED):
                key = fetch_tags.pop((si, m["tag"]), None)
                if key is None:
                    continue
                w = want[key]
                if kind == obref.FETCH_FAILED:
                    report["errors"].append("fetch failed: %s" % obref.FETCH_STATUS.get(m["reason"]))
                    w["state"] = "done"
                    continue
                chunk = obref.chunk_decode(obref.lock_decode(m["lock"])["chunk"])
                if hashlib.sha256(m["data"]).digest() != chunk["payload"]:
                    report["errors"].append("fetched bytes do not hash to the Lock's digest")
                else:
                    entries = obref.batch_decode(m["data"])
                    if w["index"] < len(entries) and entries[w["index"]] == w["data"]:
                        report["included"] += 1
                    else:
                        report["errors"].append("entry %d of the batch is not ours" % w["index"])
                w["state"] = "done"
                continue
            w = want.get((si, m["tag"]))
            if w is None:
                report["errors"].append("answer for an unknown tag %d" % m["tag"])
                continue
            if kind == obref.QUEUED:
                report["queued"] += 1
            elif kind == obref.REFUSED:
                name = obref.REFUSAL.get(m["reason"], "unknown %d" % m["reason"])
                report["refused"][name] = report["refused"].get(name, 0) + 1
                w["state"] = "refused"
            elif kind == obref.ASSIGNED:
                report["assigned"] += 1
                w.update(sequencer=m["sequencer"], height=m["height"], index=m["index"],
                         digest=m["payload"])
            elif kind == obref.LOCKED:
                report["locked"] += 1
                why = obref.lock_check(manifest, secp, m["lock"])
                chunk = obref.chunk_decode(obref.lock_decode(m["lock"])["chunk"])
                if why:
                    report["errors"].append("Lock for tag %d: %s" % (m["tag"], why))
                elif chunk["payload"] != w.get("digest") or chunk["height"] != w.get("height"):
                    report["errors"].append("Lock for tag %d is not the chunk assigned" % m["tag"])
                else:
                    report["locks_verified"] += 1
                w["index"] = m["index"]
                w["state"] = "fetching"
                ftag = 5000000 + len(fetch_tags) + report["locked"]
                fetch_tags[(si, ftag)] = (si, m["tag"])
                w["fetch"] = (ftag, chunk["sequencer"], chunk["height"])
                s.send(obref.frame(obref.FETCH, ("u64", ftag), ("raw", chunk["sequencer"]),
                                   ("u64", chunk["height"])))
    report["unfinished"] = len(pending())
    print(json.dumps(report))
    for s in socks:
        s.close()
    ctx.term()
    ok = (not report["errors"] and report["unfinished"] == 0
          and report["locks_verified"] == report["submitted"]
          and report["included"] == report["submitted"]
          and report["refused"] == {"malformed": len(socks)}
          and report.get("vector_lock", True))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
