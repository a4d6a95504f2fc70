#!/usr/bin/env python3
"""Writes a synthetic OSV database of the size of osv.dev's Debian, Maven, PyPI, npm, Go and
crates.io exports (tens of thousands of records), for timing the database code of
`haechi image`. The records are in the OSV schema but the advisories are made up: every
installed Debian source package of the image gets several (some affecting the installed
version, most not), and other names fill the rest.

usage: make-osv.py DPKG_STATUS OUT_DIR RECORDS
"""
import json, os, random, sys

status, out, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
random.seed(42)
sources = {}
for para in open(status, encoding="utf-8", errors="replace").read().split("\n\n"):
    fields = {}
    for line in para.splitlines():
        if ":" in line and not line.startswith(" "):
            k, v = line.split(":", 1)
            fields[k] = v.strip()
    if "Package" not in fields or not fields.get("Status", "installed").endswith("installed"):
        continue
    src = fields.get("Source", fields["Package"])
    version = fields.get("Version", "0")
    if "(" in src:
        src, version = src.split("(")[0].strip(), src.split("(")[1].rstrip(")").strip()
    sources[src] = version

ecosystems = ["Maven", "PyPI", "npm", "Go", "crates.io"]
os.makedirs(out, exist_ok=True)
vectors = [
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N",
    "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
]
n = 0
def write(record):
    global n
    n += 1
    with open(os.path.join(out, record["id"] + ".json"), "w") as f:
        json.dump(record, f)

for src, version in sorted(sources.items()):
    for i in range(8):
        affecting = i == 0
        fixed = version + "+fix1" if affecting else "0.0.%d-1" % (i + 1)
        write({"schema_version": "1.6.0", "id": "DEBIAN-SYNTH-%d" % n, "modified": "2024-01-01T00:00:00Z",
               "aliases": ["CVE-2099-%05d" % n], "summary": "synthetic advisory for %s" % src,
               "affected": [{"package": {"ecosystem": "Debian:12", "name": src},
                             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]})
while n < total:
    eco = ecosystems[n % len(ecosystems)]
    name = {"Maven": "org.synth%d:lib%d" % (n % 997, n), "Go": "example.com/m%d/pkg" % n}.get(eco, "synth-pkg-%d" % n)
    write({"schema_version": "1.6.0", "id": "GHSA-SYNTH-%d" % n, "modified": "2024-01-01T00:00:00Z",
           "aliases": ["CVE-2098-%05d" % n], "summary": "synthetic advisory %d" % n,
           "severity": [{"type": "CVSS_V3", "score": random.choice(vectors)}],
           "affected": [{"package": {"ecosystem": eco, "name": name},
                         "ranges": [{"type": "SEMVER" if eco != "Maven" and eco != "PyPI" else "ECOSYSTEM",
                                     "events": [{"introduced": "0"}, {"fixed": "1.%d.0" % (n % 50)}]}],
                         "versions": ["0.%d.0" % (n % 9)]}]})
print(f"{n} OSV records ({len(sources)} Debian source packages) in {out}")
