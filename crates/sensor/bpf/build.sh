#!/bin/sh
# Builds sensor.bpf.o from sensor.bpf.c with clang-19, CO-RE against the
# running kernel's BTF. The object is committed so `cargo build` needs no
# clang; CI runs this script and tests the rebuilt object.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
clang=${CLANG:-clang-19}
strip=${LLVM_STRIP:-llvm-strip-19}
btf=${BTF:-/sys/kernel/btf/vmlinux}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bpftool btf dump file "$btf" format c > "$work/vmlinux.h"
"$clang" -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror \
	-I"$work" -I"$here" -c "$here/sensor.bpf.c" -o "$work/sensor.bpf.o"
# Keep BTF (CO-RE needs it), drop DWARF.
"$strip" -g "$work/sensor.bpf.o"
mv "$work/sensor.bpf.o" "$here/sensor.bpf.o"
