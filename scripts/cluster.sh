#!/usr/bin/env bash
# `make cluster`: NCompass as it runs beyond one machine, on this one: a throwaway
# PostgreSQL cluster (Debian's pg_virtualenv), two instances on it (ports 8081, 8082)
# and nginx in front on http://127.0.0.1:8080 with deploy/nginx/ncompass.conf.
# Ctrl-C stops nginx and the instances (each finishing its requests in flight), then
# the cluster is dropped. Needs root or sudo for apt when PostgreSQL or nginx is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${CLUSTER_PORT:-8080}
BINARY=${NCOMPASS_BINARY:-target/release/ncompass}

if [ "${1:-}" != "--inside" ]; then
    missing=
    command -v pg_virtualenv >/dev/null || missing="$missing postgresql postgresql-common"
    command -v nginx >/dev/null || missing="$missing nginx"
    # shellcheck disable=SC2086
    scripts/apt-install.sh cluster $missing
    exec pg_virtualenv -t "$0" --inside
fi

# Inside pg_virtualenv: PGHOST, PGPORT, PGUSER, PGPASSWORD name the new cluster.
DATABASE="postgres://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/postgres"
WORK=$(mktemp -d)
pids=()
stop() {
    trap - INT TERM EXIT
    echo "cluster: stopping" >&2
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap stop INT TERM EXIT

# The first account, so that the dashboard can be used through nginx (a proxy's
# clients are never loopback clients: protected mode would refuse them).
PASSWORD=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$PASSWORD" | "$BINARY" --log warn --database "$DATABASE" user add admin --role admin --password-stdin

for port in 8081 8082; do
    "$BINARY" serve --log "${RUST_LOG:-info}" --database "$DATABASE" --bind "127.0.0.1:$port" \
        --mac-key-file "$WORK/ncompass.key" \
        --public-url "http://127.0.0.1:$PORT" --trusted-proxy 127.0.0.1 &
    pids+=($!)
done

# nginx with the deploy site, listening on loopback, in the foreground, files in $WORK.
sed -e "s/listen 80;/listen 127.0.0.1:$PORT;/" deploy/nginx/ncompass.conf > "$WORK/site.conf"
cat > "$WORK/nginx.conf" <<CONF
daemon off;
master_process off;
pid $WORK/nginx.pid;
error_log stderr warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $WORK/body;
    proxy_temp_path $WORK/proxy;
    fastcgi_temp_path $WORK/fastcgi;
    uwsgi_temp_path $WORK/uwsgi;
    scgi_temp_path $WORK/scgi;
    include $WORK/site.conf;
}
CONF
nginx -c "$WORK/nginx.conf" -p "$WORK" &
pids+=($!)

cat >&2 <<MSG

cluster: two NCompass instances on PostgreSQL ($PGHOST:$PGPORT), behind nginx:
  dashboard and API  http://127.0.0.1:$PORT/   (sign in as admin / $PASSWORD)
  webhook            http://127.0.0.1:$PORT/receive
  instances          http://127.0.0.1:8081/api/v1/health, http://127.0.0.1:8082/api/v1/health
Stop one instance (kill PID) and reports keep flowing through the other. Ctrl-C stops all.
MSG
# Until nginx ends (Ctrl-C); an instance stopped meanwhile does not end the demo.
wait "${pids[-1]}" || true
