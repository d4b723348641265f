#!/usr/bin/env bash
# What the test suite needs besides Python packages, installed when it can be, else named.
#
# Used by `make test` and `.ci/run` (one script, so a fresh machine behaves the same in
# both). As root with apt-get, every missing part is installed and PostgreSQL is started
# with its `test` database; otherwise it stops within seconds with one line per missing
# part and the command that installs it, instead of failing tests minutes later.
#
# To need something more, add a line to PACKAGES: "<binary to look for> <Debian package>".
set -uo pipefail

PACKAGES=(
    "/usr/sbin/sshd openssh-server"        # the ssh config-repository tests run a real sshd
    "/usr/bin/git git"
    "/usr/bin/shellcheck shellcheck"       # deploy/install.sh, deploy/images/build.sh
    "/usr/bin/docker-registry docker-registry"   # the reaper and readiness tests run a real registry
    "/usr/bin/skopeo skopeo"                     # and push images into it from OCI layouts
    "/usr/bin/systemd-analyze systemd"     # deploy/systemd/danube.service is verified with it
    "/usr/bin/chromium chromium"           # tests/e2e drive it with playwright-core (never a download)
)

PG_HOST=127.0.0.1
PG_PORT=5432

missing=()
for entry in "${PACKAGES[@]}"; do
    read -r binary package <<<"$entry"
    [ -x "$binary" ] || command -v "$(basename "$binary")" >/dev/null 2>&1 || missing+=("$package")
done
command -v pg_ctlcluster >/dev/null 2>&1 || missing+=("postgresql")

can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

if [ ${#missing[@]} -gt 0 ]; then
    if can_install; then
        echo "ensure-deps: installing ${missing[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
            || { echo "ensure-deps: apt-get install ${missing[*]} failed" >&2; exit 1; }
        if [[ " ${missing[*]} " == *" postgresql "* ]]; then
            # The tests connect as postgres over TCP without a password, as on these machines.
            version="$(ls /etc/postgresql | head -n 1)"
            sed -i 's/^\(host\s\+all\s\+all\s\+127.0.0.1\/32\s\+\)\S\+/\1trust/' \
                "/etc/postgresql/$version/main/pg_hba.conf"
        fi
    else
        for package in "${missing[@]}"; do
            echo "ensure-deps: missing $package: install it with: sudo apt-get install -y $package" >&2
        done
        exit 1
    fi
fi

# PostgreSQL on 127.0.0.1:5432 (trust auth, database "test") for the integration tests.
if ! pg_isready -h "$PG_HOST" -p "$PG_PORT" -q 2>/dev/null; then
    if can_install; then
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
        for _ in $(seq 1 30); do pg_isready -h "$PG_HOST" -p "$PG_PORT" -q && break; sleep 1; done
    fi
    if ! pg_isready -h "$PG_HOST" -p "$PG_PORT" -q 2>/dev/null; then
        echo "ensure-deps: PostgreSQL is not running on $PG_HOST:$PG_PORT: start it with:" \
            "sudo pg_ctlcluster \$(ls /etc/postgresql) main start" >&2
        exit 1
    fi
fi
if ! psql -h "$PG_HOST" -U postgres -tc "SELECT 1 FROM pg_database WHERE datname = 'test'" 2>/dev/null | grep -q 1; then
    psql -h "$PG_HOST" -U postgres -qc "CREATE DATABASE test" >/dev/null 2>&1 || {
        echo "ensure-deps: cannot create the database 'test' as user postgres on $PG_HOST:$PG_PORT" \
            "(the tests need trust authentication there): psql -h $PG_HOST -U postgres -c 'CREATE DATABASE test'" >&2
        exit 1
    }
fi
exit 0
