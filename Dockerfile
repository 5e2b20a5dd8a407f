# syntax=docker/dockerfile:1
#
# One image per binary of the workspace, all from this file. MODULE names the
# module folder, whose cmd/<MODULE> is the binary (api-gateway,
# tracking-redis, tracking-kafka, team-simulator). The context is the
# repository root:
#   docker build --build-arg MODULE=tracking-redis -t teamtrack/tracking-redis .
# (docker-compose.yml does this for each service).

# 1. The browser view (team-tracking-view/web), bundled into
#    team-tracking-view/dist, which the view's Go package embeds and the
#    gateway serves. The context leaves out any local dist/ (.dockerignore),
#    so an image always embeds a fresh build. BuildKit builds this stage once
#    for all the images of a compose build.
FROM node:20-bookworm-slim AS view
WORKDIR /src/team-tracking-view/web
COPY team-tracking-view/web/package.json team-tracking-view/web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY team-tracking-view/web/ ./
RUN npm run build

# 2. The binary. The build runs in workspace mode like a developer's
#    `go build` (the modules' go.sum files are incomplete without
#    go.work.sum), so it copies go.work and the go.mod/go.sum of every module
#    go.work uses, but the sources of only the shared modules and MODULE.
FROM golang:1.26.8-bookworm AS build
ARG MODULE
# Stamped into the binary (tracking-core/buildinfo; scripts/release.sh
# passes them with IMAGES=1); unset, the binary says "unknown".
ARG VERSION=""
ARG COMMIT=""
ARG DATE=""
WORKDIR /src
# Dependencies first: this layer is rebuilt only when a go.mod or go.sum changes.
COPY go.work go.work.sum ./
COPY api-gateway/go.mod api-gateway/go.sum api-gateway/
COPY platform/go.mod platform/go.sum platform/
COPY team-simulator/go.mod team-simulator/go.sum team-simulator/
COPY team-tracking-view/go.mod team-tracking-view/go.sum team-tracking-view/
COPY tracking-core/go.mod tracking-core/go.sum tracking-core/
COPY tracking-kafka/go.mod tracking-kafka/go.sum tracking-kafka/
COPY tracking-redis/go.mod tracking-redis/go.sum tracking-redis/
RUN go mod download
COPY tracking-core/ tracking-core/
COPY team-tracking-view/ team-tracking-view/
COPY --from=view /src/team-tracking-view/dist/ team-tracking-view/dist/
COPY ${MODULE}/ ${MODULE}/
# Static binary (no libc in the final image), no local paths, no symbols.
ENV CGO_ENABLED=0
RUN --mount=type=cache,target=/root/.cache/go-build \
    test -n "${MODULE}" && \
    go build -trimpath -ldflags="-s -w -X github.com/teamtrack/tracking-core/buildinfo.version=${VERSION} -X github.com/teamtrack/tracking-core/buildinfo.commit=${COMMIT} -X github.com/teamtrack/tracking-core/buildinfo.date=${DATE}" \
      -o /out/teamtrack ./${MODULE}/cmd/${MODULE}

# No shell, no package manager, user nonroot (65532). No HEALTHCHECK: there is
# no tool to run one; Consul polls the services' /readyz instead. Settings
# come from the environment (see the README); arguments after the image name
# go to the command (e.g. `load -h` for the simulator).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/teamtrack /teamtrack
USER nonroot:nonroot
ENTRYPOINT ["/teamtrack"]
