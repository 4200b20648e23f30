# syntax=docker/dockerfile:1.7
#
# The sluice image: the `sluice` command and one pipeline (its TOML file and the modules
# it names) in /app. Build, run and deploy: docs/deployment.md.
#
#   docker build -t sluice .                                   # the clickstream example
#   docker build --build-arg PIPELINE_DIR=pipelines/orders .   # your pipeline folder
#   docker build --build-arg WITH_KCL=true .                   # + Java and pinned KCL jars
#
# The entrypoint is `sluice` itself, so every subcommand runs as the container's command:
# `run --config FILE` (the default), `batch run JOB --config FILE`, `jobs`, `health`,
# `validate`, `dlq inspect|redrive`, `demo`, and in the WITH_KCL=true image
# `kcl run --config FILE` (the KCL MultiLangDaemon path).

ARG WITH_KCL=false

# ---------------------------------------------------------------------------- build
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/sluice
COPY pyproject.toml README.md ./
COPY consumer ./consumer
COPY batch_jobs ./batch_jobs
# Installs sluice and its dependencies (ranges from pyproject.toml) into the venv and
# compiles the bytecode now: the runtime filesystem is read-only.
RUN /opt/sluice/bin/pip install --no-cache-dir /src \
    && /opt/sluice/bin/python -m compileall -q /opt/sluice

# ---------------------------------------------------------------- build, KCL path
# amazon-kclpy, pinned by hash, pins the KCL MultiLangDaemon jars: its pom.xml lists their
# exact versions and its build downloads them from Maven Central into amazon_kclpy/jars.
# `sluice kcl jars` fails unless the multilang jar is there and every file is a real jar:
# an image never ships without its jars.
FROM build AS build-kcl
COPY requirements/kcl-image.txt ./
RUN /opt/sluice/bin/pip install --no-cache-dir --no-deps --require-hashes -r kcl-image.txt \
    && /opt/sluice/bin/sluice kcl jars > /dev/null \
    && /opt/sluice/bin/python -m compileall -q /opt/sluice

# ------------------------------------------------------------------------- runtime
FROM python:3.11-slim-bookworm AS base
RUN groupadd --system --gid 10001 sluice \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin sluice
ENV PATH=/opt/sluice/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TMPDIR=/tmp
WORKDIR /app

FROM base AS runtime-false
COPY --from=build /opt/sluice /opt/sluice

# The KCL MultiLangDaemon is Java: a headless JRE only in this variant.
FROM base AS runtime-true
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build-kcl /opt/sluice /opt/sluice

# runtime-false or runtime-true, a stage of this file, not an image tag.
#checkov:skip=CKV_DOCKER_7:the last FROM names a stage of this file (runtime-false/true); both base stages use python:3.11-slim-bookworm
# hadolint ignore=DL3006
FROM runtime-${WITH_KCL} AS runtime
# The pipeline: pipeline.toml and the schema/transform modules it names. load_config
# makes the file's folder importable, so the modules sit beside it in /app. Owned by
# root and read-only to the sluice user.
ARG PIPELINE_DIR=examples/clickstream
COPY ${PIPELINE_DIR}/ /app/

# uid 10001, never root. Writable paths come from the runtime: a scratch volume or tmpfs
# at /tmp (ECS task definition, Kubernetes emptyDir, compose tmpfs).
USER 10001:10001

# The health endpoint is on: `sluice run` and `sluice kcl run` serve /healthz and /readyz
# on 127.0.0.1:$SLUICE__HEALTH__PORT (the override of health.port), and the health check
# asks /healthz there: it fails when the consumer stops making progress (a stalled loop,
# a flush running past health.max_flush_s, a KCL child that stopped answering). Commands
# that serve nothing (batch run, jobs) show as unhealthy under plain Docker, which does
# not act on it (`docker run --no-healthcheck` leaves the check out); ECS ignores an
# image's HEALTHCHECK and uses the task definition's (none for batch tasks).
ENV SLUICE__HEALTH__PORT=8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["sluice", "health"]

# Exec form: sluice is the process that receives SIGTERM (it flushes, acks and exits 0).
STOPSIGNAL SIGTERM
ENTRYPOINT ["sluice"]
CMD ["run", "--config", "/app/pipeline.toml"]
