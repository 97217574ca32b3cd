#!/usr/bin/python3
"""A hand-written client of radmarkd's message channel (docs/service.md, "Volumes and label
maps"), as a user would write one with her own account: it speaks the wire protocol itself, so
it can send what radmark-cli never would.

  service_channel_client.py open SOCKET STUDY USER       (password on stdin)
      prints "sealed=1 bytes=N sha256=HEX" for the volume the service sent, or the refusal
  service_channel_client.py save SOCKET STUDY USER MODE DX DY DZ  (MODE: sealed, unsealed)
      sends a label map (DX*DY*DZ bytes, one labelled voxel) in a memfd, sealed or not;
      prints the service's reply or its refusal
  service_channel_client.py session SOCKET USER STEP...      (password on stdin)
      one session (service session), one request per STEP, each printing one line:
        open:STUDY                   "open sealed=1 bytes=N sha256=HEX" or "open refused: WHY"
        save:STUDY:DX:DY:DZ          a whole sealed label map (slice z holds label z % 3 in a
                                     square); "save version=HEX sha256=HEX" (of the map) or
                                     "save refused: WHY"
        edit:STUDY:PARENT:Z,Z,...    only those slices (now label 2 on the whole slice but its
                                     corner), with PARENT ("last": the version saved last) as
                                     the version edited; prints as save, sha256 of the map as the
                                     service must have saved it (the parent's other slices)
        draft:STUDY:DX:DY:DZ:HASH    a draft that sends no slice and names, for every slice,
                                     the chunk HASH as content she kept (save-draft); prints
                                     "draft saved" or "draft refused: WHY"
        openversion:STUDY:HEX        a version's labels (open-version, read-only); prints
                                     "openversion sealed=1 bytes=N" or "openversion refused: WHY"
        decide:STUDY:HEX:DECISION    a review decision (approve, changes, reject) on the version;
                                     prints "decide DECISION" or "decide refused: WHY"
        agreement                    the reviewers' agreement report (agreement); prints
                                     "agreement rows=N" or "agreement refused: WHY"
        users                        the store's users (users); prints "users rows=N" or
                                     "users refused: WHY"
        adduser:NAME                 adds NAME as an annotator (add-user, the password in a
                                     sealed memfd); prints "adduser done" or "adduser refused: WHY"
        datasets                     the datasets (datasets); prints "datasets rows=N" or
                                     "datasets refused: WHY"
        export:DATASET:DESTINATION   exports the dataset there, NIfTI only (export); prints
                                     "export bundle=ID" or "export refused: WHY"
        pacsnodes                    the policy's PACS nodes (pacs-nodes); prints "pacsnodes
                                     rows=N" or "pacsnodes refused: WHY"
        pacsquery:NODE:PATIENTID     a PACS query by patient ID (pacs-query); prints "pacsquery
                                     rows=N" or "pacsquery refused: WHY"
        pause:PATH                   creates PATH.ready, waits until PATH exists
  service_channel_client.py edited-hash DX DY
      the chunk hash (BLAKE2b-256) of the slice an edit: step sends
      A refusal that ends the session ends the client too.
Exit status: the worker's.
"""
import fcntl
import hashlib
import json
import mmap
import os
import socket
import struct
import sys
import time

MAGIC = 0x314D4452
F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE = 1, 2, 4, 8


def request(sock_path, words, password, channel_end):
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(sock_path)
    stdin_r, stdin_w = os.pipe()
    os.write(stdin_w, (password + "\n").encode())
    os.close(stdin_w)
    out_r, out_w = os.pipe()
    payload = b"".join(w.encode() + b"\0" for w in
                       ["radmark-service-1", "terminal:0", "files:0", "channel:1"] + words)
    socket.send_fds(conn, [struct.pack("<I", len(payload))], [stdin_r, out_w, out_w, channel_end])
    conn.sendall(payload)
    os.close(stdin_r)
    os.close(out_w)
    os.close(channel_end)
    return conn, out_r


def send_message(chan, kind, body, fds):
    data = json.dumps(body).encode()
    header = struct.pack("<IHHII", MAGIC, 1, kind, len(data), 0)
    socket.send_fds(chan, [header + data], fds)


def receive_message(chan):
    try:
        data, fds, _flags, _addr = socket.recv_fds(chan, 70000, 8)
    except OSError:
        return None, []
    if not data:
        return None, fds
    magic, _version, kind, size, _flags2 = struct.unpack("<IHHII", data[:16])
    assert magic == MAGIC
    return (kind, json.loads(data[16:16 + size])), fds


def finish(conn, out_r):
    errors = b""
    while True:
        chunk = os.read(out_r, 4096)
        if not chunk:
            break
        errors += chunk
    status = conn.recv(4)
    sys.stderr.write(errors.decode(errors="replace"))
    return struct.unpack("<I", status)[0] if len(status) == 4 else 1


def sealed_memfd(data):
    fd = os.memfd_create("labels", os.MFD_ALLOW_SEALING)
    os.write(fd, data)
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)
    return fd


def whole_map(dims):
    dx, dy, dz = dims
    slices = []
    for z in range(dz):
        s = bytearray(dx * dy)
        for y in range(dy // 4, dy // 2):
            for x in range(dx // 4, dx // 2):
                s[y * dx + x] = z % 3
        slices.append(s)
    return slices


def edited_slice(dims):
    dx, dy, _dz = dims
    s = bytearray([2]) * (dx * dy)
    s[0] = 0
    return s


def session(sock_path, user, password, steps):
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    conn, out_r = request(sock_path, ["service", "session", "--user", user, "--password-stdin"],
                          password, theirs.detach())
    ready, _fds = receive_message(mine)
    if not ready or ready[0] != 3:
        mine.close()
        sys.exit(finish(conn, out_r))
    segments = json.dumps([{"label": 1, "name": "Liver", "colour": [200, 120, 60]},
                           {"label": 2, "name": "Lesion", "colour": [250, 80, 80],
                            "type": {"scheme": "SCT", "code": "4147007", "meaning": "Mass"},
                            "category": {"scheme": "SCT", "code": "49755003",
                                         "meaning": "Morphologically Altered Structure"}}])
    maps = {}  # version -> (dims, slices): what each version saved here holds
    last = None
    for step in steps:
        kind, _, rest = step.partition(":")
        if kind == "pause":
            open(rest + ".ready", "w").close()
            while not os.path.exists(rest):
                time.sleep(0.05)
            continue
        fields = rest.split(":")
        fds = []
        expected = None
        if kind == "open":
            body = {"op": "open-volume", "study": fields[0]}
        elif kind == "save":
            dims = [int(v) for v in fields[1:4]]
            slices = whole_map(dims)
            fds = [sealed_memfd(b"".join(slices))]
            body = {"op": "save-labels", "study": fields[0], "dims": dims, "width": 1,
                    "segments": segments, "message": "whole, from a hand-written client"}
            expected = (dims, slices)
        elif kind == "edit":
            parent = last if fields[1] == "last" else fields[1]
            zs = [int(z) for z in fields[2].split(",")]
            base = maps.get(last)
            dims = base[0] if base else [1, 1, 1]
            fds = [sealed_memfd(b"".join(edited_slice(dims) for _ in zs))]
            body = {"op": "save-labels", "study": fields[0], "dims": dims, "width": 1,
                    "segments": segments, "message": "some slices, from a hand-written client",
                    "parent": parent, "chunks": zs}
            if base and parent == last:
                slices = list(base[1])
                for z in zs:
                    slices[z] = edited_slice(dims)
                expected = (dims, slices)
        elif kind == "openversion":
            body = {"op": "open-version", "study": fields[0], "version": fields[1],
                    "readOnly": True}
        elif kind == "decide":
            body = {"op": "decide", "study": fields[0], "version": fields[1],
                    "decision": fields[2], "message": "from a hand-written client"}
        elif kind == "agreement":
            body = {"op": "agreement"}
        elif kind == "users":
            body = {"op": "users"}
        elif kind == "adduser":
            fds = [sealed_memfd(b"a password of mallory's")]
            body = {"op": "add-user", "name": fields[0], "role": "annotator"}
        elif kind == "datasets":
            body = {"op": "datasets"}
        elif kind == "pacsnodes":
            body = {"op": "pacs-nodes"}
        elif kind == "pacsquery":
            body = {"op": "pacs-query", "node": fields[0], "query": {
                "patientId": fields[1], "patientName": "", "accessionNumber": "", "dateFrom": "",
                "dateTo": "", "modality": "", "studyDescription": "", "limit": 100}}
        elif kind == "export":
            body = {"op": "export", "request": {
                "dataset": fields[0], "destination": fields[1], "recipients": [],
                "formats": {"nnunet": True, "dicomSeg": False, "boxes": False}}}
        elif kind == "draft":
            dims = [int(v) for v in fields[1:4]]
            fds = [sealed_memfd(b"")]
            body = {"op": "save-draft", "study": fields[0], "dims": dims, "width": 1,
                    "segments": segments, "boxes": [], "kept": [fields[4]] * dims[2],
                    "chunks": []}
        else:
            sys.exit("unknown step " + step)
        send_message(mine, 1, body, fds)
        for fd in fds:
            os.close(fd)
        reply, got = receive_message(mine)
        while reply is not None and reply[0] == 2:  # an export's progress notes
            reply, got = receive_message(mine)
        if reply is None:
            print(kind + " refused: (the session ended)")
            break
        if reply[0] == 4:
            print(kind + " refused: " + reply[1].get("error", ""))
            if reply[1].get("ended"):
                break
            continue
        if kind == "draft":
            print("draft saved")
        elif kind == "openversion":
            fd = got[0]
            print(f"openversion sealed=1 bytes={os.fstat(fd).st_size}")
            os.close(fd)
        elif kind == "decide":
            print("decide " + reply[1].get("decision", "?"))
        elif kind == "agreement":
            print(f"agreement rows={len(reply[1]['summary']['rows'])}")
        elif kind == "users":
            print(f"users rows={len(reply[1]['users'])}")
        elif kind == "adduser":
            print("adduser done")
        elif kind == "datasets":
            print(f"datasets rows={len(reply[1]['datasets'])}")
        elif kind == "pacsnodes":
            print(f"pacsnodes rows={len(reply[1]['nodes'])}")
        elif kind == "pacsquery":
            print(f"pacsquery rows={len(reply[1]['studies'])}")
        elif kind == "export":
            print("export bundle=" + reply[1]["result"]["bundleId"])
        elif kind == "open":
            fd = got[0]
            size = os.fstat(fd).st_size
            with mmap.mmap(fd, size, prot=mmap.PROT_READ) as m:
                print(f"open sealed=1 bytes={size} sha256={hashlib.sha256(m).hexdigest()}")
            os.close(fd)
        else:
            version = reply[1]["version"]
            digest = hashlib.sha256(b"".join(expected[1])).hexdigest() if expected else "?"
            if expected:
                maps[version] = expected
            last = version
            print(f"{kind} version={version} sha256={digest}")
        sys.stdout.flush()
    mine.close()
    sys.exit(finish(conn, out_r))


def main():
    if sys.argv[1] == "edited-hash":
        dims = [int(sys.argv[2]), int(sys.argv[3]), 1]
        print(hashlib.blake2b(bytes(edited_slice(dims)), digest_size=32).hexdigest())
        sys.exit(0)
    if sys.argv[1] == "session":
        sock_path, user = sys.argv[2:4]
        password = sys.stdin.readline().rstrip("\n")
        session(sock_path, user, password, sys.argv[4:])
    what, sock_path, study, user = sys.argv[1:5]
    password = sys.stdin.readline().rstrip("\n")
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    command = "open-volume" if what == "open" else "save-labels"
    conn, out_r = request(sock_path, ["service", command, "--study", study, "--user", user,
                                      "--password-stdin"], password, theirs.detach())
    if what == "save":
        mode = sys.argv[5]
        dims = [int(v) for v in sys.argv[6:9]]
        size = dims[0] * dims[1] * dims[2]
        fd = os.memfd_create("labels", os.MFD_ALLOW_SEALING)
        os.ftruncate(fd, size)
        os.pwrite(fd, b"\1", size // 2)
        if mode == "sealed":
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)
        segments = json.dumps([{"label": 1, "name": "Liver", "colour": [200, 120, 60]}])
        send_message(mine, 1, {"dims": dims, "width": 1, "segments": segments,
                               "message": "from a hand-written client"}, [fd])
        os.close(fd)
    reply, fds = receive_message(mine)
    if reply and what == "open":
        fd = fds[0]
        seals = fcntl.fcntl(fd, fcntl.F_GET_SEALS)
        sealed = int(seals & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW) ==
                     (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW))
        size = os.fstat(fd).st_size
        with mmap.mmap(fd, size, prot=mmap.PROT_READ) as m:
            print(f"sealed={sealed} bytes={size} sha256={hashlib.sha256(m).hexdigest()}")
    elif reply:
        print(json.dumps(reply[1]))
    sys.exit(finish(conn, out_r))


main()
