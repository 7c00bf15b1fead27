# icd serve in a container: the static `icd` binary (musl) and the shipped bundle, on an empty
# base image. Build from the repository root:
#   docker build -t icd10-coder .
#   docker run --rm -p 127.0.0.1:8088:8088 icd10-coder
# See docs/deploy.md ("The coding service") for the token, TLS and Kubernetes.
FROM rust:1.95-bookworm AS build
RUN rustup target add x86_64-unknown-linux-musl \
 && apt-get update && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Only the CLI: the trainer (libtorch) and the web app are not built.
RUN cargo build --release --locked -p icd-cli --target x86_64-unknown-linux-musl

FROM scratch
COPY --from=build /src/target/x86_64-unknown-linux-musl/release/icd /icd
COPY bundles/default-recipe /bundle
# No shell, no package manager, no root.
USER 65534:65534
EXPOSE 8088
ENTRYPOINT ["/icd"]
# 0.0.0.0 inside the container; publish the port on loopback or behind a TLS proxy, and pass
# --token-file for anything reachable from other machines (deploy/k8s/serve.yaml does).
CMD ["serve", "--bundle", "/bundle", "--addr", "0.0.0.0:8088"]
