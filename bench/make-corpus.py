#!/usr/bin/env python3
"""Builds a large manifest set for benchmarks: the real manifests of shared/corpus/k8s-manifests,
copied N times with the object names suffixed, so that every copy is a distinct object.

usage: make-corpus.py SOURCE_DIR OUT_DIR MIN_OBJECTS
"""
import os
import re
import shutil
import sys

source, out, minimum = sys.argv[1], sys.argv[2], int(sys.argv[3])
files = []
for root, _, names in os.walk(source):
    for name in sorted(names):
        if name.endswith((".yaml", ".yml", ".json")):
            files.append(os.path.join(root, name))
files.sort()
# Count documents that declare a kind: a cheap, parser-independent object estimate.
per_copy = 0
texts = []
for path in files:
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    texts.append((path, text))
    # Top-level `kind:` (YAML documents) and `"kind":` near the left margin (JSON objects).
    per_copy += len(re.findall(r'^(kind|\s{0,4}"kind")\s*:', text, flags=re.M))
copies = max(1, -(-minimum // max(per_copy, 1)))
shutil.rmtree(out, ignore_errors=True)
name_line = re.compile(r'^(\s*"?name"?\s*:\s*"?)([A-Za-z0-9][-A-Za-z0-9_.]*)', flags=re.M)
for copy in range(copies):
    for path, text in texts:
        rel = os.path.relpath(path, source)
        target = os.path.join(out, f"copy{copy:03d}", rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        renamed = name_line.sub(lambda m: f"{m.group(1)}{m.group(2)}-c{copy}", text)
        with open(target, "w", encoding="utf-8") as f:
            f.write(renamed)
print(f"{copies} copies of {len(files)} files (~{per_copy} kind: lines each) in {out}")
