#!/bin/sh
# Installs Danube into a virtualenv: the one build step of both images, run by their
# Dockerfiles (`RUN sh deploy/images/build.sh ...`) and by CI on the files the Dockerfiles
# copy (tests/integration/deploy/test_images.py), so a wrong path fails CI, not a user.
#
#   build.sh server      SOURCE PREFIX   every Danube process (+ the web app, once built)
#   build.sh coordinator SOURCE PREFIX   the SDK and its job coordinator only
#
# SOURCE is the copied source tree, PREFIX the virtualenv to create. Extra pip arguments
# may come in DANUBE_PIP_ARGS (e.g. an index of your own).
set -eu

if [ "$#" -ne 3 ]; then
    echo "usage: build.sh server|coordinator SOURCE PREFIX" >&2
    exit 2
fi
target=$1
source=$2
prefix=$3

case "$target" in
    server) packages="$source/sdk $source" ;;
    coordinator) packages="$source/sdk" ;;
    *) echo "build.sh: unknown image $target (server or coordinator)" >&2; exit 2 ;;
esac
for package in $packages; do
    [ -f "$package/pyproject.toml" ] || { echo "build.sh: no $package/pyproject.toml" >&2; exit 1; }
done

python3 -m venv "$prefix"
# shellcheck disable=SC2086  # word splitting of the package list and pip arguments is meant
"$prefix/bin/pip" install --no-cache-dir --disable-pip-version-check --quiet \
    ${DANUBE_PIP_ARGS:-} $packages

if [ "$target" = server ]; then
    if [ -d "$source/webapp/dist" ]; then
        mkdir -p "$prefix/share/danube"
        cp -R "$source/webapp/dist" "$prefix/share/danube/webapp"
    fi
    # What the Deployments run must be there and start.
    "$prefix/bin/danube" --help >/dev/null
    for command in server projector dispatcher pod-adapter migrate replay dex-config network-policy; do
        "$prefix/bin/danube" "$command" --help >/dev/null
    done
fi
# What job pods run: `python3 -m danube.coordinator` (DANUBE_K8S_COORDINATOR_COMMAND).
"$prefix/bin/python3" -c "import danube.coordinator"
