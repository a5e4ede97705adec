# nginx_preamble DIR ERROR_LOG [LEVEL] [CONNECTIONS]: prints the start of
# an nginx.conf for a throwaway instance run with `nginx -p DIR`: one
# worker, its pid file in DIR, its error log, and the five temp paths
# under DIR/tmp (which the caller makes, writable by nginx's workers), so
# nothing is written to the system's /var/lib/nginx. It ends inside an
# open `http {` block: the caller writes its own http-level lines, its
# servers and the closing brace. Sourced by tests/integration/lib.sh
# (and so by scripts/bench.sh) and by scripts/demo.sh.
nginx_preamble() {
	local dir=$1 errlog=$2 level=${3:-} conns=${4:-256}
	cat <<EOF
worker_processes 1;
pid $dir/nginx.pid;
error_log $errlog${level:+ $level};
events { worker_connections $conns; }
http {
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
EOF
}
