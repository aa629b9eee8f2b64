# LeanProxy in a container: the self-contained binary on slim Debian with Debian's Chromium headless shell (the build of
# Chromium for servers: a third less memory than the full browser, docs/PERFORMANCE.md), run as a non-root user
# (so that Chromium's sandbox is on). Build: docker build -t leanproxy .   Run a node: see compose.yaml and
# deploy/kubernetes/. The deployment files are checked by tests/LeanProxy.Integration.Tests/DeploymentFilesTests.cs,
# which runs the same command lines on the build machine.

FROM mcr.microsoft.com/dotnet/sdk:10.0-bookworm-slim AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Host/LeanProxy.Host.csproj -c Release -r linux-x64 -o /out -nologo

FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium-headless-shell fonts-liberation fonts-noto-core fonts-noto-color-emoji ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 --shell /usr/sbin/nologin leanproxy \
 && mkdir -p /data && chown leanproxy /data
COPY --from=build /out/leanproxy /usr/local/bin/leanproxy
USER 10001
WORKDIR /home/leanproxy
ENV CHROME_PATH=/usr/lib/chromium/chromium-headless-shell
EXPOSE 8080 8081
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 CMD ["curl", "-fsS", "http://127.0.0.1:8081/healthz"]
ENTRYPOINT ["leanproxy"]
# A node on an embedded SQLite store; compose.yaml and the Kubernetes files give PostgreSQL through LEANPROXY_STORE.
CMD ["serve", "--store", "sqlite:/data/leanproxy.db", "--http", "0.0.0.0:8080", "--admin", "0.0.0.0:8081", "--admin-token-file", "/run/secrets/admin_token"]
