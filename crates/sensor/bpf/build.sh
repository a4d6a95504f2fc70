#!/bin/sh
# Builds every *.bpf.c here into its *.bpf.o with clang-19, CO-RE against the
# running kernel's BTF. The objects are committed so `cargo build` needs no
# clang; CI runs this script and tests the rebuilt objects.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
clang=${CLANG:-clang-19}
strip=${LLVM_STRIP:-llvm-strip-19}
btf=${BTF:-/sys/kernel/btf/vmlinux}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bpftool btf dump file "$btf" format c > "$work/vmlinux.h"
for source in "$here"/*.bpf.c; do
	name=$(basename "$source" .c)
	"$clang" -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror \
		-I"$work" -I"$here" -c "$source" -o "$work/$name.o"
	# Keep BTF (CO-RE needs it), drop DWARF.
	"$strip" -g "$work/$name.o"
	mv "$work/$name.o" "$here/$name.o"
done
