#!/usr/bin/env bash
# A throw-away PostgreSQL server on loopback for the label store's tests (and for trying team mode).
#
#   eval "$(.ci/postgres.sh start)"   # init + start; prints `export RLHF_TEST_POSTGRES_URL=...`
#   make test                         # the store tests now also run on PostgreSQL
#   .ci/postgres.sh stop              # stop the server and delete its files
#   .ci/postgres.sh url               # print the URL of the running server
#
# Needs the server binaries (Debian/Ubuntu: apt-get install postgresql). Everything lives in
# $RLHF_PG_DIR (default /tmp/rlhf-postgres-UID): data, socket and log. Durability is switched off
# (fsync, synchronous_commit): it is for tests only. As root the server runs as the `postgres`
# user, since initdb refuses root. The user rlhf_test (password rlhf_test, may create databases)
# owns the database rlhf_test; the tests create one database per test beside it. It is granted
# pg_signal_backend because DROP DATABASE ... WITH (FORCE) must end every session on the dropped
# database, and an autovacuum worker there belongs to no role this user is a member of.
set -euo pipefail

DIR="${RLHF_PG_DIR:-/tmp/rlhf-postgres-$(id -u)}"
DATA="$DIR/data"
USER_NAME=rlhf_test
PASSWORD=rlhf_test
DB=rlhf_test

find_bin() {
    if command -v pg_ctl >/dev/null && command -v initdb >/dev/null; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"
        return
    fi
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$found" ] || [ ! -x "$found/pg_ctl" ]; then
        echo "postgres.sh: no PostgreSQL server binaries (pg_ctl, initdb): apt-get install postgresql" >&2
        exit 1
    fi
    echo "$found"
}

# Run a server command as an unprivileged user: `postgres` when we are root.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        (cd /tmp && runuser -u postgres -- "$@")  # from a folder that user may enter
    else
        "$@"
    fi
}

url() {
    echo "postgresql+psycopg://$USER_NAME:$PASSWORD@127.0.0.1:$(cat "$DIR/port")/$DB"
}

running() {
    [ -f "$DATA/postmaster.pid" ] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

start() {
    if running; then
        echo "export RLHF_TEST_POSTGRES_URL='$(url)'"
        return
    fi
    rm -rf "$DIR"
    mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && chown postgres: "$DIR"
    chmod 700 "$DIR"
    as_owner "$BIN/initdb" -D "$DATA" -U postgres -A trust --no-sync -E UTF8 --locale=C >"$DIR/initdb.log" 2>&1 \
        || { cat "$DIR/initdb.log" >&2; exit 1; }
    local port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    echo "$port" >"$DIR/port"
    # Password logins over TCP; the socket (in $DIR, for this script's psql only) trusts the owner.
    printf 'local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n' | as_owner tee "$DATA/pg_hba.conf" >/dev/null
    as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null || { cat "$DIR/server.log" >&2; exit 1; }
    as_owner "$BIN/psql" -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$port" -U postgres -d postgres \
        -c "CREATE ROLE $USER_NAME LOGIN CREATEDB PASSWORD '$PASSWORD'" \
        -c "CREATE DATABASE $DB OWNER $USER_NAME" \
        -c "GRANT pg_signal_backend TO $USER_NAME" >/dev/null
    echo "export RLHF_TEST_POSTGRES_URL='$(url)'"
}

stop() {
    if running; then
        as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
    fi
    rm -rf "$DIR"
}

BIN=$(find_bin)
case "${1:-}" in
    start) start ;;
    stop) stop ;;
    url) running && url || { echo "postgres.sh: no server running in $DIR" >&2; exit 1; } ;;
    *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
