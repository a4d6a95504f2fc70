#!/usr/bin/env bash
# Builds the haechi image from the Dockerfile at the repository root and prints its size.
#
#   deploy/image/build.sh [--tag TAG] [--base IMAGE | --local-base] [--binary FILE]
#
#   --tag TAG      image name (default haechi:<version>)
#   --base IMAGE   base image (default: the Dockerfile's, distroless cc)
#   --local-base   build on haechi-base:local, a distroless-like base made here by `docker import`
#                  of this host's glibc, libgcc and CA certificates (for machines without registry
#                  access, such as CI)
#   --binary FILE  use this haechi binary instead of `cargo build --release --locked -p haechi`
#
# Reproducible: the binary's debug sections are stripped and every file of the context, and of the
# local base, carries the last commit's time, so two builds of one commit give the same layer
# digests (printed). The OCI `created` label is that time too.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

tag="" base="" local_base=false binary=""
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag=$2; shift 2 ;;
    --base) base=$2; shift 2 ;;
    --local-base) local_base=true; shift ;;
    --binary) binary=$2; shift 2 ;;
    *) echo "build.sh: unknown argument $1 (see the comment at the top of this script)" >&2; exit 2 ;;
  esac
done

version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
revision=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
epoch=$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
tag=${tag:-haechi:$version}

if [ -z "$binary" ]; then
  (cd "$root" && cargo build --release --locked -p haechi)
  binary="$root/target/release/haechi"
fi

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT

# A distroless-like base from this host's libraries: exactly what the binary links against, the
# dynamic loader, CA certificates, and the passwd/group entries distroless has (root, nonroot).
make_local_base() {
  local rootfs="$context/rootfs"
  mkdir -p "$rootfs"/{etc/ssl/certs,tmp,home/nonroot,root}
  chmod 1777 "$rootfs/tmp"
  chmod 700 "$rootfs/root"
  local lib
  for lib in $(ldd "$binary" | awk '$2 == "=>" {print $3} $1 ~ /^\// {print $1}'); do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done
  cp -L /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$rootfs/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
  chown -R 65532:65532 "$rootfs/home/nonroot"
  tar --sort=name --mtime="@$epoch" --numeric-owner -C "$rootfs" -cf - . |
    docker import --message "haechi local base (host glibc)" - haechi-base:local >/dev/null
  echo "base haechi-base:local from this host's libraries: $(ldd "$binary" | awk '$2 == "=>" {print $1}' | tr '\n' ' ')"
}

if $local_base; then
  make_local_base
  base=haechi-base:local
fi

# The context is the image's one layer as a tree (usr/bin/haechi), every entry dated to the last
# commit, so the layer's tar, directories included, is the same on every build.
mkdir -p "$context/layer/usr/bin"
objcopy --strip-debug "$binary" "$context/layer/usr/bin/haechi"
chmod 0755 "$context/layer/usr/bin/haechi"
find "$context/layer" -exec touch -h -d "@$epoch" {} +

build_args=(--build-arg "VERSION=$version" --build-arg "REVISION=$revision" --build-arg "CREATED=$created")
[ -n "$base" ] && build_args+=(--build-arg "BASE=$base")
# The classic builder: it builds FROM a local image without asking a registry (BuildKit's
# docker driver would resolve the base's metadata first). Its deprecation notice is dropped.
if ! DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0} docker build --quiet -f "$root/Dockerfile" "${build_args[@]}" \
    -t "$tag" "$context/layer" >/dev/null 2>"$context/build.log"; then
  cat "$context/build.log" >&2
  exit 1
fi

size=$(docker image inspect -f '{{.Size}}' "$tag")
binary_size=$(stat -c %s "$context/layer/usr/bin/haechi")
echo "built $tag: $((size / 1024 / 1024)) MiB ($size bytes; the binary $((binary_size / 1024 / 1024)) MiB)"
echo "layers: $(docker image inspect -f '{{range .RootFS.Layers}}{{.}} {{end}}' "$tag")"
