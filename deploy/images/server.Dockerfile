# syntax=docker/dockerfile:1
# The server image: every Danube process (server, projector, dispatcher, scheduler, pod
# adapter, migrate, ...) and the web app once webapp/dist is built. Build from the
# repository's root:
#   docker build -f deploy/images/server.Dockerfile -t ghcr.io/danube-ci/danube:TAG .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY deploy/images/build.sh deploy/images/build.sh
COPY README.md pyproject.toml ./
COPY sdk/ sdk/
COPY domain/ domain/
COPY projections/ projections/
COPY adapters/ adapters/
COPY api/ api/
COPY webapp/ webapp/
RUN sh deploy/images/build.sh server /src /opt/danube

FROM ${PYTHON_IMAGE}
# git and ssh for the config repository; no compiler, no pip cache, no sources.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 1000 --user-group --create-home --shell /usr/sbin/nologin danube \
    && install -d -o 1000 -g 1000 -m 0700 /var/lib/danube
COPY --from=build /opt/danube /opt/danube
ENV PATH=/opt/danube/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DANUBE_DATA_DIR=/var/lib/danube \
    DANUBE_BIND_ADDRESS=0.0.0.0:8080 \
    DANUBE_GRPC_ADDRESS=0.0.0.0:9000
USER 1000:1000
WORKDIR /var/lib/danube
EXPOSE 8080 9000
CMD ["danube", "server"]
