#!/usr/bin/python3
"""A hand-written client of radmarkd's message channel (docs/service.md, "Volumes and label
maps"), as a user would write one with her own account: it speaks the wire protocol itself, so
it can send what radmark-cli never would.

  service_channel_client.py open SOCKET STUDY USER       (password on stdin)
      prints "sealed=1 bytes=N sha256=HEX" for the volume the service sent, or the refusal
  service_channel_client.py save SOCKET STUDY USER MODE DX DY DZ  (MODE: sealed, unsealed)
      sends a label map (DX*DY*DZ bytes, one labelled voxel) in a memfd, sealed or not;
      prints the service's reply or its refusal
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


def main():
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
