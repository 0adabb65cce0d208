#!/usr/bin/env bash
# A throwaway PostgreSQL server on the loopback for the tests of studies on a shared storage
# (tests/studies/test_postgres.py), made and removed by scripts/test.sh:
#     eval "$(bash scripts/test-postgres.sh start)"    # prints the exports: ADVNETS_TEST_POSTGRES, ADVNETS_TEST_PGDIR
#     bash scripts/test-postgres.sh stop "$ADVNETS_TEST_PGDIR"
# Debian's server is used (installed with apt-get when missing and this is root); where none can be had,
# `start` prints nothing to export and says why on stderr, and that test is skipped with the reason.
set -euo pipefail
say() { echo "test-postgres: $*" >&2; }
as_owner() {  # initdb and pg_ctl refuse root: run them as the postgres user then
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
bin_dir() {
    local initdb
    initdb=$(command -v initdb 2>/dev/null || ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | tail -1 || true)
    [ -n "$initdb" ] && dirname "$initdb"
}
case "${1:-}" in
start)
    bin=$(bin_dir || true)
    if [ -z "$bin" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing Debian's postgresql"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2 || true
        bin=$(bin_dir || true)
    fi
    if [ -z "$bin" ]; then say "no PostgreSQL server here (initdb not found): its test will be skipped"; exit 0; fi
    dir=$(mktemp -d /tmp/advnets-pg.XXXXXX)
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_owner "$bin/initdb" -A trust -U postgres -D "$dir/data" >/dev/null
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null
    say "a PostgreSQL server on 127.0.0.1:$port ($dir)"
    echo "export ADVNETS_TEST_POSTGRES=postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
    echo "export ADVNETS_TEST_PGDIR=$dir"
    ;;
stop)
    dir=${2:?the folder start printed (ADVNETS_TEST_PGDIR)}
    bin=$(bin_dir || true)
    [ -n "$bin" ] && [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
