#!/usr/bin/python3
"""Checks resources/deid/confidentiality_profile.tsv, the de-identification table Radmark loads.

- every row has the 14 columns, a well-formed tag, known action codes and a unique tag;
- every fixed tag exists in pydicom's data dictionary (an independent copy of PS3.6) and our
  attribute name matches the dictionary's name, so a mistyped tag cannot slip through;
- the counts per basic-profile action are printed, to compare with the standard's table.

How the table was made and how to refresh it for a new edition: see README.md, section
"De-identification and import". Run with Debian's python3 (python3-pydicom).
"""
import collections
import os
import re
import sys

from pydicom.datadict import dictionary_description

HERE = os.path.dirname(os.path.abspath(__file__))
TABLE = os.path.join(HERE, "confidentiality_profile.tsv")
BASIC = {"D", "Z", "X", "K", "C", "U", "X/Z", "X/D", "X/Z/D", "X/Z/U*", "Z/D"}
OPTION = {"", "K", "C", "X", "D", "Z", "U"}
WILDCARDS = {"(50xx,xxxx)", "(60xx,4000)", "(60xx,3000)", "(gggg,eeee)"}


def normalise(name):
    name = name.lower().replace("’", "'")
    name = re.sub(r"\(trial\)|\(retired\)", "", name)
    return re.sub(r"[^a-z0-9]", "", name)


def main():
    errors = []
    seen = set()
    counts = collections.Counter()
    header = None
    rows = 0
    for number, line in enumerate(open(TABLE, encoding="utf-8"), 1):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        if header is None:
            header = fields
            if len(header) != 14:
                errors.append(f"line {number}: header has {len(header)} columns, expected 14")
            continue
        rows += 1
        if len(fields) != 14:
            errors.append(f"line {number}: {len(fields)} columns")
            continue
        tag, name, basic = fields[0], fields[1], fields[2]
        if tag in seen:
            errors.append(f"line {number}: duplicate {tag}")
        seen.add(tag)
        if basic not in BASIC:
            errors.append(f"line {number}: unknown basic action {basic!r}")
        for value in fields[3:13]:
            if value not in OPTION:
                errors.append(f"line {number}: unknown option action {value!r}")
        if fields[13] not in ("standard", "inferred"):
            errors.append(f"line {number}: options_source must be standard or inferred")
        counts[basic] += 1
        if tag in WILDCARDS:
            continue
        match = re.fullmatch(r"\(([0-9A-F]{4}),([0-9A-F]{4})\)", tag)
        if not match:
            errors.append(f"line {number}: malformed tag {tag}")
            continue
        value = int(match.group(1) + match.group(2), 16)
        try:
            known = dictionary_description(value)
        except KeyError:
            print(f"note: {tag} {name} is newer than pydicom's dictionary")
            continue
        if normalise(known) != normalise(name):
            print(f"note: {tag} named {name!r} here, {known!r} in pydicom's dictionary")
    for error in errors:
        print("error:", error)
    print(f"{rows} rows; basic actions: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
