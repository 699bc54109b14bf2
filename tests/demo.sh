#!/bin/sh
# make demo: a throw-away mail host serving POP3 on 127.0.0.1:1110 through
# systemd-socket-activate, until Ctrl-C.
set -eu
build=${1:-build}
port=${DEMO_PORT:-1110}
top=$(cd "$(dirname "$0")/.." && pwd)
pop3d=$top/$build/pop3d

dir=$(mktemp -d /tmp/pop3d-demo.XXXXXX)
chmod 755 "$dir"
if [ "$(id -u)" = 0 ]; then
	uid=60000 gid=60000	# a mailbox owner of its own; never root
else
	uid=$(id -u) gid=$(id -g)
fi
hash=$(printf 'demo\n' | "$top/$build/pop3d-passwd" -r)
printf 'demo:%s:%s:%s::%s::\n' "$hash" "$uid" "$gid" "$dir" >"$dir/users"
chmod 600 "$dir/users"
cat >"$dir/pop3d.conf" <<CONF
users_file = $dir/users
maildir = %h/Maildir
log = stderr
CONF

mkdir -p "$dir/Maildir/new" "$dir/Maildir/cur" "$dir/Maildir/tmp"
n=0
for subject in "Welcome to pop3d" "A second message" "Third and last"; do
	n=$((n + 1))
	cat >"$dir/Maildir/new/$((1700000000 + n)).M${n}P$$.demo" <<MSG
From: pop3d demo <demo@localhost>
To: demo@localhost
Subject: $subject
Date: Tue, 14 Nov 2023 22:13:2$n +0000
Message-ID: <demo-$n@localhost>

This is message $n of the pop3d demo.
.A line that starts with a dot, to show byte-stuffing.
MSG
done
chown -R "$uid:$gid" "$dir/Maildir"
chmod -R go-rwx "$dir/Maildir"

systemd-socket-activate --inetd -a -l "127.0.0.1:$port" \
    "$pop3d" -c "$dir/pop3d.conf" &
pid=$!
cleanup() {
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -rf "$dir"
	echo "pop3d demo stopped."
}
trap 'cleanup; exit 0' INT TERM
sleep 0.5
cat <<EOT

pop3d demo: serving user 'demo' (password 'demo') on 127.0.0.1:$port
  curl pop3://demo:demo@127.0.0.1:$port/          # list
  curl pop3://demo:demo@127.0.0.1:$port/1         # fetch message 1
  python3 -c 'import poplib; p=poplib.POP3("127.0.0.1",$port); p.user("demo"); p.pass_("demo"); print(p.stat()); p.quit()'
Logs appear below.  Ctrl-C stops the demo and removes $dir.

EOT
wait "$pid" || true
cleanup
