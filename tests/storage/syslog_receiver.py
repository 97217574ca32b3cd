#!/usr/bin/env python3
"""A small syslog receiver for the anchor tests (CI machines may have no /dev/log).

Listens on loopback UDP, loopback TCP (RFC 6587 octet counting) or a unix datagram socket, and
appends every message it receives to OUT as one line. Once listening it writes its address
("udp:127.0.0.1:PORT", "tcp:127.0.0.1:PORT" or "unix:PATH") to READY, so the test can point the
policy's log_sink at it. Runs until killed.

usage: syslog_receiver.py udp|tcp|unix OUT READY [SOCKET_PATH]
"""
import os
import socket
import sys
import threading


def write_line(out, data):
    text = data.decode("utf-8", "replace").replace("\r", " ").replace("\n", " ")
    with open(out, "a", encoding="utf-8") as f:
        f.write(text + "\n")
        f.flush()


def announce(ready, address):
    tmp = ready + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(address + "\n")
    os.rename(tmp, ready)


def serve_tcp_client(conn, out, lock):
    buffer = b""
    with conn:
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                return
            buffer += chunk
            while True:
                space = buffer.find(b" ")
                if space <= 0:
                    break
                length = int(buffer[:space])
                if len(buffer) < space + 1 + length:
                    break
                message = buffer[space + 1:space + 1 + length]
                buffer = buffer[space + 1 + length:]
                with lock:
                    write_line(out, message)


def main():
    kind, out, ready = sys.argv[1], sys.argv[2], sys.argv[3]
    open(out, "a").close()
    if kind == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind(("127.0.0.1", 0))
        announce(ready, "udp:127.0.0.1:%d" % s.getsockname()[1])
        while True:
            write_line(out, s.recv(65536))
    elif kind == "unix":
        path = sys.argv[4]
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(path)
        announce(ready, "unix:" + path)
        while True:
            write_line(out, s.recv(65536))
    elif kind == "tcp":
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        announce(ready, "tcp:127.0.0.1:%d" % s.getsockname()[1])
        lock = threading.Lock()
        while True:
            conn, _ = s.accept()
            threading.Thread(target=serve_tcp_client, args=(conn, out, lock), daemon=True).start()
    else:
        sys.exit("unknown kind " + kind)


if __name__ == "__main__":
    main()
