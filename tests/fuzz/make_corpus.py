#!/usr/bin/env python3
"""Writes the seed corpora of the libFuzzer targets from the conformance
vectors (tests/vectors/obcast-vectors.json and obcast-fetch-vectors.json)
into tests/fuzz/corpus/<target>/.

Each seed is one file named after what it is. The valid encodings of each
type, the `invalid` and `unverifiable` entries of that type, and the items
embedded in others (a node's certificate, a peer message's body) all seed
the matching target. Peer message seeds use the frame layout of
fuzz_peer_message.c:

    selector(u8) = frame count - 1 ‖ (count-1) × length(u16 BE) ‖ frames

Fetched seeds use the layout of fuzz_fetched.c: selector(u8) ‖ body, where
selector % 3 + 1 is the frame count and selector / 3 the payload length.

The message targets (imsg, app, client) are seeded from proto/imsg.csv
and proto/app.csv: one valid encoding of every message, its fields filled
from the vectors where they have one (a Lock, a node, an ack, a chunk).
imsg takes one message; app and client take a sequence of records in the
layouts of fuzz_app.c and fuzz_client.c (see there).

Usage: make_corpus.py [--check]   (--check: compare, write nothing)
"""
import hashlib
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, '..', 'vectors', 'obcast-vectors.json')
FETCH_VECTORS = os.path.join(HERE, '..', 'vectors', 'obcast-fetch-vectors.json')
CORPUS = os.path.join(HERE, 'corpus')

TARGETS = ['chunk', 'certificate', 'node', 'ack', 'lock', 'proposal', 'peer_message', 'fetch',
           'fetched', 'imsg', 'app', 'client']
PROTO = os.path.join(HERE, '..', '..', 'proto')
sys.path.insert(0, PROTO)
import gen_imsg  # noqa: E402  (proto/gen_imsg.py: the messages' one parser)

CHUNK_LEN = 72
SIG_LEN = 64
GENESIS_NODE_LEN = CHUNK_LEN + SIG_LEN + 1
PARENT_CERT_AT = GENESIS_NODE_LEN + 32 + 8  # digest ‖ epoch, then the certificate
LOCK_CERT_AT = CHUNK_LEN + 8


def slug(text):
    s = re.sub(r'[^a-z0-9]+', '-', text.lower()).strip('-')
    return s[:48].rstrip('-')


def peer_frames(frames):
    """The fuzzer's single input for a multipart message."""
    if not 1 <= len(frames) <= 3:
        raise ValueError('1 to 3 frames')
    out = bytearray([len(frames) - 1])
    for f in frames[:-1]:
        if len(f) > 0xFFFF:
            raise ValueError('frame too long for the seed layout')
        out += len(f).to_bytes(2, 'big')
    for f in frames:
        out += f
    return bytes(out)


def fetched_seed(body, payload):
    """fuzz_fetched.c's input: the selector says 1 frame, or 2 with a
    payload of that length."""
    if payload is None:
        return bytes([0]) + body
    if 1 + 3 * len(payload) > 0xFF:
        raise ValueError('payload too long for the fetched seed layout')
    return bytes([1 + 3 * len(payload)]) + body


def build(v, fv):
    seeds = {t: {} for t in TARGETS}

    def add(target, name, data):
        if data in seeds[target].values():
            return
        if name in seeds[target]:
            name += '-' + hashlib.sha1(data).hexdigest()[:8]
        seeds[target][name] = data

    h = bytes.fromhex

    for c in v['chunks']:
        add('chunk', 'valid-chunk-h%d' % c['height'], h(c['encoding']))
        add('proposal', 'valid-proposal-h%d' % c['height'], h(c['encoding']) + h(c['signature']))

    for a in v['acks']:
        add('ack', 'valid-ack-h%d-e%d-v%d' % (a['chunk_height'], a['epoch'], a['signer']),
            h(a['encoding']))

    cert = v['certificate']
    add('certificate', 'valid-cert-h%d-e%d' % (cert['chunk_height'], cert['epoch']),
        h(cert['encoding']))

    for n in v['nodes']:
        enc = h(n['encoding'])
        add('node', 'valid-node-h%d' % n['height'], enc)
        if n['height'] > 0:
            add('certificate', 'valid-cert-of-node-h%d' % n['height'], enc[PARENT_CERT_AT:])

    lock = v['lock']
    add('lock', 'valid-lock-h%d-e%d' % (lock['chunk_height'], lock['epoch']), h(lock['encoding']))
    add('certificate', 'valid-cert-of-lock', h(lock['encoding'])[LOCK_CERT_AT:])

    for kind in ('invalid', 'unverifiable'):
        for e in v[kind]:
            enc = h(e['encoding'])
            name = '%s-%s-%s' % (kind, e['error'], slug(e['why']))
            t = e['type']
            if t == 'certificate':
                add('certificate', name, enc)
            elif t in ('node', 'node_with_payload'):
                add('node', name, enc)
                if t == 'node_with_payload':
                    add('peer_message', name,
                        peer_frames([bytes([1, 1]) + enc, h(e['payload_hex'])]))
            elif t == 'ack':
                add('ack', name, enc)
            elif t == 'lock':
                add('lock', name, enc)
                if len(enc) >= LOCK_CERT_AT:
                    add('certificate', name, enc[LOCK_CERT_AT:])
            elif t == 'peer_message':
                add('peer_message', name, peer_frames([enc]))
            else:
                raise ValueError('vector of unknown type %r' % t)

    for m in v['peer_messages']:
        frames = [h(f) for f in m['frames']]
        add('peer_message', 'valid-' + slug(m['what']), peer_frames(frames))
        if frames[0][:1] == b'\x01':
            add('node', 'valid-body-of-' + slug(m['what']), frames[0][2:])
        elif frames[0][:1] == b'\x02':
            add('ack', 'valid-body-of-' + slug(m['what']), frames[0][2:])

    # obcast-fetch-vectors.json: each message and case seeds peer_message,
    # and its body the fetch or fetched target.
    def add_fetch(name, frames):
        add('peer_message', name, peer_frames(frames))
        first = frames[0]
        if first[:1] == b'\x03':
            add('fetch', name, first[2:])
        elif first[:1] == b'\x04':
            add('fetched', name, fetched_seed(first[2:], frames[1] if len(frames) > 1 else None))
            if len(first) >= 3 + LOCK_CERT_AT:
                add('lock', name, first[3:])
        else:
            raise ValueError('fetch vector of type %r' % first[:1])

    for m in fv['peer_messages']:
        add_fetch('valid-' + slug(m['what']), [h(f) for f in m['frames']])
    for kind in ('invalid', 'unverifiable'):
        for e in fv[kind]:
            frames = [h(e['encoding'])]
            if e.get('payload_hex') is not None:
                frames.append(h(e['payload_hex']))
            add_fetch('%s-%s-%s' % (kind, e['error'], slug(e['why'])), frames)

    # The certificate target also reads a validator count from the first
    # two bytes: seed that mode with n = 4, the vectors' epoch size.
    for name, data in list(seeds['certificate'].items()):
        if name.startswith('valid-'):
            add('certificate', 'n4-' + name, b'\x00\x04' + data)

    add_messages(add, v)
    return seeds


def imsg_encode(m, values):
    """The encoding of message `m` (gen_imsg's dict), its fields from
    `values` (name -> int or bytes) or a filler."""
    out = bytearray(m['number'].to_bytes(2, 'big') + bytes([m['version']]))
    for i, (name, ftype) in enumerate(m['fields']):
        val = values.get(name)
        if ftype == 'blob':
            data = val if val is not None else b'blob-' + name.encode()
            out += len(data).to_bytes(4, 'big') + data
        elif ftype == 'bool':
            out += bytes([1 if val is None else val])
        elif ftype in ('u8', 'u16', 'u32', 'u64'):
            out += (i + 1 if val is None else val).to_bytes(gen_imsg.SIZES[ftype], 'big')
        else:
            size = gen_imsg.SIZES[ftype]
            data = val if val is not None else bytes([i + 1]) * size
            if len(data) != size:
                raise ValueError('%s.%s: %d bytes, not %d' % (m['name'], name, len(data), size))
            out += data
    return bytes(out)


def records(items):
    """fuzz_app.c's and fuzz_client.c's input: kind(u8) ‖ length(u16 BE) ‖
    bytes, per record."""
    out = bytearray()
    for kind, data in items:
        out += bytes([kind]) + len(data).to_bytes(2, 'big') + data
    return bytes(out)


# fuzz_app.c's record kinds.
APP_FRAME, CLIENT_FRAME, CLIENT_ANSWER, EXTERNAL_CLIENT, JOURNAL_EXTERNAL, JOURNAL_BUILTIN = range(6)


def batch(entries):
    """proto/PROTOCOL.md "Batches": version 1, count(u32), length(u32) ‖ bytes each."""
    out = bytearray([1]) + len(entries).to_bytes(4, 'big')
    for e in entries:
        out += len(e).to_bytes(4, 'big') + e
    return bytes(out)


def add_messages(add, v):
    h = bytes.fromhex
    msgs, by_name = [], {}
    gen_imsg.parse(os.path.join(PROTO, 'imsg.csv'), False, msgs, by_name)
    gen_imsg.parse(os.path.join(PROTO, 'app.csv'), True, msgs, by_name)
    lock = h(v['lock']['encoding'])
    chunk = h(v['chunks'][0]['encoding'])
    payload0 = v['payloads'][0]['data_utf8'].encode()
    by_field = {'lock': lock, 'node': h(v['nodes'][1]['encoding']), 'ack': h(v['acks'][0]['encoding']),
                'chunk': chunk, 'data': payload0, 'tag': 1, 'height': 0, 'index': 0,
                'sequencer': chunk[:32], 'payload': chunk[40:72], 'reason': 1, 'status': 0}
    enc = {}
    for m in msgs:
        values = {k: val for k, val in by_field.items()
                  if any(k == f and (t == 'blob') == isinstance(val, bytes) or
                         (k == f and t in ('chunk', 'key', 'digest')) for f, t in m['fields'])}
        if m['name'] in ('fetch_found', 'app_fetch_found', 'fetch_answer'):
            values['tag'] = 3
        enc[m['name']] = e = imsg_encode(m, values)
        add('imsg', 'valid-' + m['name'], e)
        if m['external']:
            kind = APP_FRAME if 'app' in m['from'] else CLIENT_FRAME
            if 'client' in m['to']:
                add('client', 'valid-' + m['name'], records([(0, e)]))
            else:
                add('app', 'valid-' + m['name'], records([(kind, e)]))
    first = msgs[0]
    add('imsg', 'invalid-bad_version', enc[first['name']][:2] + b'\xff' + enc[first['name']][3:])
    add('imsg', 'invalid-unknown_type', b'\xff\xfe\x01')
    add('imsg', 'invalid-short', enc[first['name']][:-1])

    attach = enc['app_attach']
    add('app', 'attach-then-fetch', records([(APP_FRAME, attach), (APP_FRAME, enc['app_fetch'])]))
    add('app', 'attach-then-give', records([(APP_FRAME, attach), (APP_FRAME, enc['app_give_payload']),
                                            (APP_FRAME, enc['app_give_verdict'])]))
    add('app', 'malformed-fetch-tag-salvaged', records([(APP_FRAME, attach),
                                                         (APP_FRAME, enc['app_fetch'][:-1])]))
    add('app', 'submit-and-follow', records([(CLIENT_FRAME, enc['submit']),
                                             (CLIENT_FRAME, enc['submit_follow']),
                                             (CLIENT_FRAME, enc['fetch'])]))
    add('app', 'submit-to-external', records([(EXTERNAL_CLIENT, enc['submit'])]))
    # The journal's requests, forwarded to the attached application; fetch
    # answers found (the Lock's payload is the slot fuzz_app.c puts).
    # (An attached application that says nothing for 3 records is detached.)
    add('app', 'attach-then-journal-requests', records(sum([
        [(APP_FRAME, attach), (JOURNAL_EXTERNAL, enc[n])] for n in
        ('app_propose', 'app_verify', 'report_tip', 'report_lock', 'report_evidence')], [])))
    add('app', 'attach-then-fetch-found', records([(APP_FRAME, attach), (APP_FRAME, enc['app_fetch']),
                                                   (JOURNAL_EXTERNAL, enc['fetch_answer'])]))
    add('app', 'fetch-found-to-client', records([(JOURNAL_BUILTIN, imsg_encode(
        by_name['fetch_answer'], {'origin': 0, 'client': b'cc', 'tag': 3, 'status': 0, 'lock': lock,
                                  'has_payload': 1}))]))
    add('app', 'fetch-failed-to-client', records([(JOURNAL_BUILTIN, imsg_encode(
        by_name['fetch_answer'], {'origin': 0, 'client': b'cc', 'tag': 3, 'status': 1, 'lock': b'',
                                  'has_payload': 0}))]))
    add('app', 'client-answer-batch', records([(CLIENT_ANSWER, batch([
        enc['submit_queued'], enc['submit_assigned'], enc['submit_locked'], enc['peer_ack']]))]))

    # fuzz_client.c: tag 1 is the payload "hello, obcast 0" (the Lock's),
    # tag 2 another payload, tag 3 a fetch of the Lock's chunk.
    assigned = imsg_encode(by_name['submit_assigned'],
                           {'tag': 1, 'sequencer': chunk[:32], 'height': 0, 'index': 0,
                            'payload': chunk[40:72]})
    locked = imsg_encode(by_name['submit_locked'], {'tag': 1, 'index': 0, 'lock': lock})
    add('client', 'queued-assigned-locked', records([(0, enc['submit_queued']), (0, assigned),
                                                     (0, locked)]))
    add('client', 'fetch-found', records([(0, imsg_encode(by_name['fetch_found'], {
        'tag': 3, 'lock': lock, 'data': payload0}))]))
    add('client', 'fetch-failed', records([(0, imsg_encode(by_name['fetch_failed'],
                                                          {'tag': 3, 'reason': 1}))]))
    add('client', 'refused-tag-2', records([(0, imsg_encode(by_name['submit_refused'],
                                                           {'tag': 2, 'reason': 2}))]))


def main():
    check = sys.argv[1:] == ['--check']
    if sys.argv[1:] and not check:
        sys.exit(__doc__)
    with open(VECTORS) as f, open(FETCH_VECTORS) as g:
        seeds = build(json.load(f), json.load(g))
    differ = False
    for target, files in seeds.items():
        d = os.path.join(CORPUS, target)
        have = {}
        if os.path.isdir(d):
            for name in os.listdir(d):
                with open(os.path.join(d, name), 'rb') as f:
                    have[name] = f.read()
        if have == files:
            continue
        differ = True
        if check:
            print('corpus/%s differs from the vectors' % target, file=sys.stderr)
            continue
        os.makedirs(d, exist_ok=True)
        for name in have:
            if name not in files:
                os.remove(os.path.join(d, name))
        for name, data in files.items():
            with open(os.path.join(d, name), 'wb') as f:
                f.write(data)
        print('corpus/%s: %d seeds' % (target, len(files)))
    if check and differ:
        sys.exit(1)


if __name__ == '__main__':
    main()
