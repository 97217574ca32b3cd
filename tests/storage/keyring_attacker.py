#!/usr/bin/env python3
"""What a user of the workstation can do with a keyring file and her own password, without
Radmark: open her entry with libsodium, take the database key(s) it holds, and decrypt a copy of
store.db with libsqlcipher, as issue 13 item 3 describes the attack. An independent reader of the
keyring (formats 1 and 2) and of the store: it shares no code with Radmark.

Usage: keyring_attacker.py KEYRING STORE_DIR USER PASSWORD
Prints "opened: N users" and exits 0 when a key opens store.db, else prints why and exits 1.
Then, for each key, "pages: M of N" — how many pages of store.db (the file alone: run it when
the WAL is checkpointed) carry a valid SQLCipher 3 HMAC under that key, checked here with hashlib
(HMAC-SHA1 over ciphertext, IV and little-endian page number; HMAC key = PBKDF2-HMAC-SHA1 of the
raw key over the file's salt XOR 0x3a, 2 iterations): whether a rekey rewrote every page."""
import base64
import ctypes
import hashlib
import hmac
import json
import os
import shutil
import sys
import tempfile

sodium = ctypes.CDLL("libsodium.so.23")
sqlcipher = ctypes.CDLL("libsqlcipher.so.0")
assert sodium.sodium_init() >= 0


def b64(text):
    return base64.b64decode(text)


def blake2b(message, key):
    out = ctypes.create_string_buffer(32)
    sodium.crypto_generichash(out, ctypes.c_size_t(32), message, ctypes.c_ulonglong(len(message)),
                              key, ctypes.c_size_t(len(key)))
    return out.raw


def argon2id(password, salt, ops, mem):
    out = ctypes.create_string_buffer(32)
    pw = password.encode()
    if sodium.crypto_pwhash(out, ctypes.c_ulonglong(32), pw, ctypes.c_ulonglong(len(pw)), salt,
                            ctypes.c_ulonglong(ops), ctypes.c_size_t(mem), ctypes.c_int(2)) != 0:
        raise RuntimeError("argon2id failed")
    return out.raw


def xchacha_open(sealed, ad, nonce, key):
    out = ctypes.create_string_buffer(len(sealed))
    n = ctypes.c_ulonglong(0)
    if sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
            out, ctypes.byref(n), None, sealed, ctypes.c_ulonglong(len(sealed)), ad,
            ctypes.c_ulonglong(len(ad)), nonce, key) != 0:
        return None
    return out.raw[:n.value]


def box_seal_open(sealed, public, secret):
    out = ctypes.create_string_buffer(len(sealed) - 48)
    if sodium.crypto_box_seal_open(out, sealed, ctypes.c_ulonglong(len(sealed)), public,
                                   secret) != 0:
        return None
    return out.raw


def database_keys(keyring, user, password):
    store_id = bytes.fromhex(keyring["store_id"])
    uid = blake2b(user.encode(), store_id)
    keys = []
    for r in keyring.get("recipients", []):
        if r["kind"] != "password" or bytes.fromhex(r["user"]) != uid:
            continue
        public = b64(r["public"])
        kek = argon2id(password, b64(r["salt"]), r["ops"], r["mem"])
        secret = xchacha_open(b64(r["secret"]), store_id + uid + public, b64(r["nonce"]), kek)
        if secret is None:
            raise SystemExit("refused: wrong password")
        for version, sealed in r["keys"].items():
            payload = box_seal_open(b64(sealed), public, secret)
            if payload is not None:
                keys.append(payload[4 + 16:])
    for e in keyring.get("entries", []):
        if e["kind"] != "password" or bytes.fromhex(e["user"]) != uid:
            continue
        kek = argon2id(password, b64(e["salt"]), e["ops"], e["mem"])
        ad = store_id + uid + keyring["key_version"].to_bytes(4, "big")
        key = xchacha_open(b64(e["sealed"]), ad, b64(e["nonce"]), kek)
        if key is not None:
            keys.append(key)
    return keys


def open_store(folder, key):
    db = ctypes.c_void_p()
    sqlcipher.sqlite3_open_v2(os.path.join(folder, "store.db").encode(), ctypes.byref(db), 2, None)
    literal = b"x'" + key.hex().encode() + b"'"
    sqlcipher.sqlite3_key(db, literal, len(literal))
    sqlcipher.sqlite3_exec(db, b"PRAGMA cipher_page_size = 4096", None, None, None)
    stmt = ctypes.c_void_p()
    sqlcipher.sqlite3_errmsg.restype = ctypes.c_char_p
    rc = sqlcipher.sqlite3_prepare_v2(db, b"SELECT count(*) FROM users", -1, ctypes.byref(stmt),
                                      None)
    result = None
    if rc == 0 and sqlcipher.sqlite3_step(stmt) == 100:
        result = sqlcipher.sqlite3_column_int(stmt, 0)
    message = sqlcipher.sqlite3_errmsg(db).decode()
    sqlcipher.sqlite3_finalize(stmt)
    sqlcipher.sqlite3_close(db)
    return result, message


def pages_under(path, key, page_size=4096, reserve=48):
    with open(path, "rb") as f:
        data = f.read()
    salt = data[:16]
    mac_key = hashlib.pbkdf2_hmac("sha1", key, bytes(b ^ 0x3A for b in salt), 2, 32)
    total = len(data) // page_size
    good = 0
    for n in range(total):
        page = data[n * page_size:(n + 1) * page_size]
        start = 16 if n == 0 else 0
        body = page[start:page_size - reserve + 16]  # ciphertext and IV
        stored = page[page_size - reserve + 16:page_size - reserve + 36]
        mac = hmac.new(mac_key, body + (n + 1).to_bytes(4, "little"), hashlib.sha1).digest()
        good += hmac.compare_digest(mac, stored)
    return good, total


def main():
    keyring_path, store_dir, user, password = sys.argv[1:5]
    with open(keyring_path) as f:
        keyring = json.load(f)
    keys = database_keys(keyring, user, password)
    if not keys:
        print("refused: no database key for this user in the keyring")
        return 1
    with tempfile.TemporaryDirectory() as copy:  # her copy of the current store.db
        for suffix in ("", "-wal"):
            source = os.path.join(store_dir, "store.db" + suffix)
            if os.path.exists(source):
                shutil.copyfile(source, os.path.join(copy, "store.db" + suffix))
        for key in keys:
            good, total = pages_under(os.path.join(store_dir, "store.db"), key)
            print(f"pages: {good} of {total}")
        message = ""
        for key in keys:
            users, message = open_store(copy, key)
            if users is not None:
                print(f"opened: {users} users")
                return 0
    print(f"refused: {len(keys)} key(s) from the keyring, none opens store.db ({message})")
    return 1


if __name__ == "__main__":
    sys.exit(main())
