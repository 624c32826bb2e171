# syntax=docker/dockerfile:1
# Multi-stage build: a static, CGO-free binary on a distroless base,
# running as a non-root user. `.ci/run` runs the same `go build` command.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/qazauth ./cmd/qazauth

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/qazauth /usr/local/bin/qazauth
ENV QAZAUTH_ADDR=0.0.0.0:8080 \
    QAZAUTH_DATA_DIR=/data \
    QAZAUTH_LOG_FORMAT=json
# The embedded database and the generated dev secret live here; with
# QAZAUTH_MONGO_URI set, nothing is written to it.
VOLUME ["/data"]
WORKDIR /data
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/qazauth"]
CMD ["serve"]
