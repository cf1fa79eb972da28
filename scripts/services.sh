#!/usr/bin/env bash
# Throwaway PostgreSQL and Redis servers for MovieMind Lite, on private ports, with
# their data under one scratch folder. No systemd needed; works as root (initdb runs
# as the postgres user) or as yourself.
#
#   scripts/services.sh start    # start both (installing what is missing, as root)
#   scripts/services.sh env      # the variables that point MovieMind and its tests at them
#   scripts/services.sh stop     # stop both and delete the scratch folder
#
# Ports and folder: MOVIEMIND_PG_PORT (5439), MOVIEMIND_REDIS_PORT (6390),
# MOVIEMIND_SERVICES_DIR (/tmp/moviemind-services).
#
# Fast, not durable, by default: PostgreSQL runs with fsync=off and
# synchronous_commit=off and Redis keeps nothing on disk, so a crash of the
# server (not of MovieMind) can lose the last commits, jobs already answered
# 202 included. Good for tests; never the basis of a claim. With
# MOVIEMIND_SERVICES_DURABLE=1 PostgreSQL runs with fsync, synchronous_commit and
# full_page_writes on (the fault tests and the published PostgreSQL benchmarks).
set -euo pipefail

PG_PORT=${MOVIEMIND_PG_PORT:-5439}
REDIS_PORT=${MOVIEMIND_REDIS_PORT:-6390}
RUN=${MOVIEMIND_SERVICES_DIR:-/tmp/moviemind-services}
DATABASE=moviemind

pg_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

as_postgres() {
    # initdb refuses root: a root shell runs the server as the postgres user.
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install_missing() {
    local need=()
    command -v redis-server >/dev/null || need+=(redis-server)
    [ -x "$(pg_bin)/pg_ctl" ] || need+=(postgresql)
    [ ${#need[@]} -eq 0 ] && return
    if [ "$(id -u)" != 0 ]; then
        echo "services: missing ${need[*]}; install them (apt-get install ${need[*]})" >&2
        exit 1
    fi
    echo "services: installing ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

start() {
    install_missing
    local bin
    bin=$(pg_bin)
    mkdir -p "$RUN"
    chmod 755 "$RUN"
    if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
        redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --save '' \
            --appendonly no --dir "$RUN" --pidfile "$RUN/redis.pid" --logfile "$RUN/redis.log"
        for _ in $(seq 100); do
            redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
            sleep 0.1
        done
    fi
    redis-cli -p "$REDIS_PORT" ping | grep -q PONG
    if [ ! -f "$RUN/pg/data/PG_VERSION" ]; then
        install -d "$RUN/pg"
        [ "$(id -u)" = 0 ] && chown postgres:postgres "$RUN/pg"
        as_postgres "$bin/initdb" -N -D "$RUN/pg/data" -U postgres --auth=trust -E UTF8 \
            --locale=C.UTF-8 >/dev/null
    fi
    local durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    if [ "${MOVIEMIND_SERVICES_DURABLE:-0}" = 1 ]; then
        durability="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
    fi
    if ! as_postgres "$bin/pg_ctl" -D "$RUN/pg/data" status >/dev/null 2>&1; then
        as_postgres "$bin/pg_ctl" -D "$RUN/pg/data" -l "$RUN/pg/log" -w -t 60 start \
            -o "-p $PG_PORT -k $RUN/pg -c listen_addresses=127.0.0.1 $durability \
                -c max_connections=200 -c shared_buffers=64MB" >/dev/null
    fi
    if ! psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -Atqc \
        "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'" | grep -q 1; then
        psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE DATABASE $DATABASE"
    fi
    echo "services: PostgreSQL on 127.0.0.1:$PG_PORT, Redis on 127.0.0.1:$REDIS_PORT," \
        "data in $RUN" >&2
}

stop() {
    redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    if [ -f "$RUN/pg/data/PG_VERSION" ]; then
        as_postgres "$(pg_bin)/pg_ctl" -D "$RUN/pg/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$RUN"
}

env() {
    echo "export MOVIEMIND_DATABASE_URL=postgresql://postgres@127.0.0.1:$PG_PORT/$DATABASE"
    echo "export MOVIEMIND_LOCKS_URL=redis://127.0.0.1:$REDIS_PORT/0"
    echo "export MOVIEMIND_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$PG_PORT/$DATABASE"
    echo "export MOVIEMIND_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/1"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    env) env ;;
    *)
        echo "usage: $0 start|stop|env" >&2
        exit 2
        ;;
esac
