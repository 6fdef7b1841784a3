"""The obcast wire formats as proto/SPEC.md states them, in Python.

Written from that reference alone, to show it is enough: imsg framing for
the submit and application sockets, the Chunk and Lock layouts, the
manifest's epochs, and the check of a Lock's quorum of BIP340 signatures
(libsecp256k1 through ctypes, SHA-256 from hashlib)."""
import ctypes
import ctypes.util
import hashlib
import struct

# --- imsg framing: type(u16) | version(u8) | fields, all big-endian -------
# (type, version) of each message of the submit and application sockets.
ATTACH = (100, 1)
ASK_PAYLOAD = (101, 1)
GIVE_PAYLOAD = (102, 1)
ASK_VERDICT = (103, 1)
GIVE_VERDICT = (104, 1)
TIP = (105, 1)
LOCK = (106, 1)
LOCK_RECEIVED = (107, 1)
EVIDENCE = (108, 1)
SUBMIT = (110, 1)
QUEUED = (111, 1)
REFUSED = (112, 1)
ASSIGNED = (113, 2)
LOCKED = (114, 2)
FOLLOW = (115, 2)
FETCH = (116, 1)
FETCH_FOUND = (117, 1)
FETCH_FAILED = (118, 1)
FORGOTTEN = (119, 1)

REFUSAL = {1: "too_large", 2: "queue_full", 3: "not_sequencer", 4: "app_attached",
           5: "malformed"}
FETCH_STATUS = {1: "not_found", 2: "busy", 3: "malformed"}

CHUNK_LEN = 72


class Malformed(Exception):
    pass


def frame(kind, *fields):
    """fields: ("u8"|"u32"|"u64"|"bool"|"raw"|"blob", value)"""
    out = bytearray(struct.pack(">HB", kind[0], kind[1]))
    for ftype, value in fields:
        if ftype == "u8":
            out += struct.pack(">B", value)
        elif ftype == "bool":
            out += b"\x01" if value else b"\x00"
        elif ftype == "u32":
            out += struct.pack(">I", value)
        elif ftype == "u64":
            out += struct.pack(">Q", value)
        elif ftype == "raw":
            out += value
        elif ftype == "blob":
            out += struct.pack(">I", len(value)) + value
        else:
            raise ValueError(ftype)
    return bytes(out)


class Reader:
    def __init__(self, data):
        self.data, self.at = data, 0

    def take(self, n):
        if self.at + n > len(self.data):
            raise Malformed("short")
        v = self.data[self.at:self.at + n]
        self.at += n
        return v

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def u64(self):
        return struct.unpack(">Q", self.take(8))[0]

    def bool(self):
        b = self.u8()
        if b > 1:
            raise Malformed("bad_flag")
        return b == 1

    def blob(self):
        return self.take(self.u32())

    def end(self):
        if self.at != len(self.data):
            raise Malformed("trailing")


# Field lists of the messages a node sends, in wire order.
LAYOUTS = {
    ASK_PAYLOAD: [("epoch", "u64"), ("height", "u64")],
    ASK_VERDICT: [("chunk", 72), ("data", "blob")],
    TIP: [("chunk", 72)],
    LOCK: [("lock", "blob")],
    EVIDENCE: [("kind", "u8"), ("first", "blob"), ("second", "blob")],
    QUEUED: [("tag", "u64")],
    REFUSED: [("tag", "u64"), ("reason", "u8")],
    ASSIGNED: [("tag", "u64"), ("sequencer", 32), ("height", "u64"), ("index", "u32"),
               ("payload", 32)],
    LOCKED: [("tag", "u64"), ("index", "u32"), ("lock", "blob")],
    FETCH_FOUND: [("tag", "u64"), ("lock", "blob"), ("data", "blob")],
    FETCH_FAILED: [("tag", "u64"), ("reason", "u8")],
    FORGOTTEN: [],
}


def parse(data):
    """(kind, {field: value}); Malformed for anything the layouts refuse."""
    r = Reader(data)
    kind = (r.u16(), r.u8())
    if kind not in LAYOUTS:
        raise Malformed("unknown type or version %s" % (kind,))
    out = {}
    for name, ftype in LAYOUTS[kind]:
        out[name] = r.take(ftype) if isinstance(ftype, int) else getattr(r, ftype)()
    r.end()
    return kind, out


# --- SPEC §2 layouts ------------------------------------------------------

def chunk_decode(b):
    if len(b) != CHUNK_LEN:
        raise Malformed("chunk length %d" % len(b))
    return {"sequencer": b[:32], "height": struct.unpack(">Q", b[32:40])[0], "payload": b[40:72]}


def lock_decode(b):
    """Chunk | epoch(u64) | count(u16) | count x [index(u16) | sig(64)]"""
    r = Reader(b)
    chunk = r.take(CHUNK_LEN)
    epoch = r.u64()
    signers = [(r.u16(), r.take(64)) for _ in range(r.u16())]
    r.end()
    return {"chunk": chunk, "epoch": epoch, "signers": signers}


def batch_decode(b):
    """version(u8)=1 | count(u32) | count x (length(u32) | bytes)"""
    r = Reader(b)
    if r.u8() != 1:
        raise Malformed("bad_version")
    entries = [r.blob() for _ in range(r.u32())]
    r.end()
    return entries


def tagged_hash(tag, m):
    t = hashlib.sha256(tag).digest()
    return hashlib.sha256(t + t + m).digest()


# --- the manifest (ZPL): namespace, epochs, validator indices, quorum ----

def zpl_load(path):
    """A tree of (name, value, children) from a ZPL file (4-space levels)."""
    root = ("", None, [])
    stack = [(-1, root)]
    for raw in open(path):
        line = raw.rstrip("\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        depth = (len(line) - len(line.lstrip(" "))) // 4
        text = line.strip()
        name, value = text, None
        if "=" in text:
            name, value = [s.strip() for s in text.split("=", 1)]
            if value.startswith('"'):
                value = value[1:value.rindex('"')]
        node = (name, value, [])
        while stack[-1][0] >= depth:
            stack.pop()
        stack[-1][1][2].append(node)
        stack.append((depth, node))
    return root


class Manifest:
    def __init__(self, path):
        top = [c for c in zpl_load(path)[2] if c[0] == "obcast"][0]
        get = lambda n, k: next(v for (name, v, _) in n[2] if name == k)
        self.namespace = get(top, "namespace").encode()
        self.max_payload = int(get(top, "max_payload"))
        self.keys = {}
        self.epochs = {}
        for name, _, kids in top[2]:
            node = ("", None, kids)
            if name == "node":
                self.keys[get(node, "name")] = bytes.fromhex(get(node, "key"))
            elif name == "epoch":
                self.epochs[int(get(node, "number"))] = (get(node, "validators").split(),
                                                         get(node, "sequencers").split())

    def validators(self, epoch):
        """The epoch's validator keys by index: ascending by their 32 bytes."""
        return sorted(self.keys[n] for n in self.epochs[epoch][0])

    def sequencers(self, epoch):
        return {self.keys[n] for n in self.epochs[epoch][1]}

    @staticmethod
    def quorum(n):
        return n - (n - 1) // 3


# --- BIP340 through libsecp256k1 -----------------------------------------

class Secp:
    def __init__(self):
        lib = ctypes.CDLL(ctypes.util.find_library("secp256k1") or "libsecp256k1.so.1")
        lib.secp256k1_context_create.restype = ctypes.c_void_p
        lib.secp256k1_context_create.argtypes = [ctypes.c_uint]
        lib.secp256k1_xonly_pubkey_parse.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                                     ctypes.c_char_p]
        lib.secp256k1_schnorrsig_verify.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                                    ctypes.c_char_p, ctypes.c_size_t,
                                                    ctypes.c_char_p]
        self.lib = lib
        self.ctx = lib.secp256k1_context_create(0x0101)  # SECP256K1_CONTEXT_VERIFY

    def verify(self, key32, msg32, sig64):
        pub = ctypes.create_string_buffer(64)
        if not self.lib.secp256k1_xonly_pubkey_parse(self.ctx, pub, key32):
            return False
        return self.lib.secp256k1_schnorrsig_verify(self.ctx, sig64, msg32, 32, pub) == 1


def lock_check(manifest, secp, lock_bytes):
    """None if the Lock verifies against its epoch's validator set, else why."""
    try:
        lock = lock_decode(lock_bytes)
    except Malformed as e:
        return "lock does not decode: %s" % e
    epoch = lock["epoch"]
    if epoch not in manifest.epochs:
        return "unknown_epoch %d" % epoch
    chunk = chunk_decode(lock["chunk"])
    if chunk["sequencer"] not in manifest.sequencers(epoch):
        return "unknown_sequencer"
    vals = manifest.validators(epoch)
    if len(lock["signers"]) < manifest.quorum(len(vals)):
        return "below_quorum: %d of %d" % (len(lock["signers"]), len(vals))
    msg = tagged_hash(manifest.namespace + b"_ACK", lock["chunk"] + struct.pack(">Q", epoch))
    last = -1
    for index, sig in lock["signers"]:
        if index <= last:
            return "cert_order"
        if index >= len(vals):
            return "cert_index"
        last = index
        if not secp.verify(vals[index], msg, sig):
            return "bad_signature at index %d" % index
    return None
