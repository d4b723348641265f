# syntax=docker/dockerfile:1
# The coordinator/checkout image of job pods: Python, git and the SDK (DANUBE_K8S_
# COORDINATOR_IMAGE; the checkout init container uses it too). Build from the root:
#   docker build -f deploy/images/coordinator.Dockerfile -t ghcr.io/danube-ci/danube-coordinator:TAG .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY deploy/images/build.sh deploy/images/build.sh
COPY sdk/ sdk/
RUN sh deploy/images/build.sh coordinator /src /opt/danube

FROM ${PYTHON_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 1000 --user-group --create-home --shell /usr/sbin/nologin danube
COPY --from=build /opt/danube /opt/danube
ENV PATH=/opt/danube/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 1000:1000
WORKDIR /workspace
CMD ["python3", "-m", "danube.coordinator"]
