# The one haechi image: every command (scan, admit, agent, image, seccomp, audit, rules) from the
# release binary on a minimal glibc base. Non-root by default; the agent runs as root only
# through its DaemonSet's securityContext.
#
# The binary is built outside (deploy/image/build.sh runs `cargo build --release --locked` and
# hands this file a context holding only usr/bin/haechi, dated to the last commit so the layer is
# reproducible), so the image needs no toolchain and no shell.
# BASE is a build argument: users get Google's distroless cc (glibc, libgcc, CA certificates,
# the `nonroot` user 65532); tests build on a base made locally with `docker import`
# (deploy/image/build.sh --local-base), as this project's CI has no registry access.
ARG BASE=gcr.io/distroless/cc-debian12:nonroot
FROM ${BASE}

ARG VERSION=0.0.0
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
LABEL org.opencontainers.image.title="haechi" \
      org.opencontainers.image.description="Kubernetes container security: image scanning, manifest checks, admission control, runtime detection and enforcement" \
      org.opencontainers.image.source="https://github.com/haechi-dev/haechi" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"

COPY . /
USER 65532:65532
ENTRYPOINT ["/usr/bin/haechi"]
CMD ["--help"]
