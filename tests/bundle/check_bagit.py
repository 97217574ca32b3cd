#!/usr/bin/python3
"""An independent check of a Radmark bag against RFC 8493 and the bundle layout, in plain Python
(hashlib), sharing no code with Radmark: bagit.txt, bag-info.txt's Payload-Oxum, every payload
and tag file listed once with its SHA-256 (paths percent-decoded for CR, LF and '%'), nothing
unlisted, and the key id in signing-key.pub derived from the key as docs/export.md says.

check_bagit.py BAG   exits 0 when the bag holds, 1 naming what does not.
"""
import base64
import hashlib
import os
import sys


def fail(message):
    print("check_bagit: " + message, file=sys.stderr)
    sys.exit(1)


def decode(path):
    out, i = [], 0
    while i < len(path):
        code = path[i + 1:i + 3].upper()
        if path[i] == "%" and code in ("25", "0A", "0D"):
            out.append({"25": "%", "0A": "\n", "0D": "\r"}[code])
            i += 3
        else:
            out.append(path[i])
            i += 1
    return "".join(out)


def read_manifest(bag, name):
    entries = {}
    with open(os.path.join(bag, name), "rb") as f:
        for raw in f.read().decode("utf-8").split("\n"):
            if not raw:
                continue
            digest, path = raw.split(None, 1) if " " in raw else (raw, "")
            path = decode(path.lstrip(" \t"))
            if path in entries:
                fail(f"{name} lists {path} twice")
            entries[path] = digest.lower()
    return entries


def files_under(bag, top):
    found = []
    for folder, dirs, files in os.walk(os.path.join(bag, top)):
        for name in files:
            full = os.path.join(folder, name)
            found.append(os.path.relpath(full, bag).replace(os.sep, "/"))
    return found


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main():
    bag = sys.argv[1]
    with open(os.path.join(bag, "bagit.txt"), "rb") as f:
        if f.read() != b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n":
            fail("bagit.txt is not the BagIt 1.0 declaration")
    info = {}
    with open(os.path.join(bag, "bag-info.txt"), encoding="utf-8") as f:
        for line in f:
            label, _, value = line.rstrip("\n").partition(": ")
            info[label] = value
    for label in ("Bagging-Date", "Bag-Software-Agent", "Payload-Oxum"):
        if label not in info:
            fail(f"bag-info.txt has no {label}")

    payload = files_under(bag, "data")
    manifest = read_manifest(bag, "manifest-sha256.txt")
    if sorted(manifest) != sorted(payload):
        fail(f"manifest and data/ differ: {sorted(set(manifest) ^ set(payload))}")
    octets = 0
    for path, digest in manifest.items():
        octets += os.path.getsize(os.path.join(bag, path))
        if sha256(os.path.join(bag, path)) != digest:
            fail(f"{path}: SHA-256 differs")
    if info["Payload-Oxum"] != f"{octets}.{len(payload)}":
        fail(f"Payload-Oxum {info['Payload-Oxum']} but data/ holds {octets}.{len(payload)}")
    with open(os.path.join(bag, "manifest-sha256.txt"), encoding="utf-8") as f:
        paths = [decode(line.split(None, 1)[1]) for line in f.read().split("\n") if line]
    if paths != sorted(paths, key=lambda p: p.encode("utf-8")):
        fail("manifest-sha256.txt is not in byte order")

    tags = [p for p in files_under(bag, "") if not p.startswith("data/")
            and p not in ("tagmanifest-sha256.txt", "tagmanifest-sha256.txt.minisig")]
    tag_manifest = read_manifest(bag, "tagmanifest-sha256.txt")
    if sorted(tag_manifest) != sorted(tags):
        fail(f"tag manifest and tag files differ: {sorted(set(tag_manifest) ^ set(tags))}")
    for path, digest in tag_manifest.items():
        if sha256(os.path.join(bag, path)) != digest:
            fail(f"{path}: SHA-256 differs")

    with open(os.path.join(bag, "signing-key.pub")) as f:
        lines = f.read().split("\n")
    blob = base64.b64decode(lines[1])
    if len(blob) != 42 or blob[:2] != b"Ed":
        fail("signing-key.pub is not a minisign Ed25519 key")
    key_id, key = blob[2:10], blob[10:]
    if hashlib.blake2b(key, digest_size=8).digest() != key_id:
        fail("the key id is not BLAKE2b-64 of the public key")
    # minisign prints it as a little-endian 64-bit number, "%" PRIX64: no leading zeros
    if not lines[0].endswith(" " + format(int.from_bytes(key_id, "little"), "X")):
        fail("the untrusted comment does not name the key id as minisign prints it")
    print(f"check_bagit: {len(payload)} payload files, {len(tags)} tag files hold")


if __name__ == "__main__":
    main()
