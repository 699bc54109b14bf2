#!/bin/sh
# Install what building and testing pop3d needs, on Debian, when missing.
# Runs as root (apt-get); as another user it only reports what is missing.
set -eu

pkgs="build-essential pkg-config libbsd-dev libmd-dev libssl-dev libcrypt-dev
python3 openssl curl fetchmail mpop ucspi-tcp systemd valgrind mandoc
clang libclang-rt-14-dev xinetd stunnel4 haproxy
dpkg-dev debhelper lintian fakeroot adduser git
libpam0g-dev libpam-modules libpam-runtime passwd
libldap-dev slapd ldap-utils checkpw fail2ban
dovecot-pop3d libltdl7 libgdbm6 libidn12"

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
	    grep -q '^install ok installed$' || missing="$missing $p"
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing packages:$missing (run as root to install)" >&2
		exit 1
	fi
	echo "deps: installing$missing"
	# slapd asks nothing with this; a system slapd its postinst may start
	# on port 389 does not matter: the tests start their own on other
	# ports of 127.0.0.1.
	export DEBIAN_FRONTEND=noninteractive
	# dovecot-pop3d: test_migrate starts a Dovecot of its own on
	# 127.0.0.1.  The package's postinst would start the system Dovecot
	# on ports 110, 143 and 995: a policy-rc.d that says no, only while
	# installing and only where there is none, keeps it stopped, and
	# the service is disabled below.
	policy=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		policy=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' > "$policy"
		chmod 755 "$policy"
		trap 'rm -f "$policy"' EXIT
	fi
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	[ -z "$policy" ] || rm -f "$policy"
	case " $missing " in
	*" dovecot-pop3d "*)
		if command -v systemctl >/dev/null; then
			systemctl disable --now dovecot.service \
			    dovecot.socket >/dev/null 2>&1 || true
		fi ;;
	esac
	# fail2ban's postinst enables and starts its daemon (an sshd jail
	# that bans through the firewall); the tests want only
	# fail2ban-regex, so a daemon this script brought is stopped.
	case " $missing " in
	*" fail2ban "*)
		if [ -d /run/systemd/system ]; then
			systemctl disable --now fail2ban.service >/dev/null 2>&1 || :
		fi ;;
	esac
fi

# Courier's POP3 server for test_migrate: courier-pop conflicts with
# dovecot-pop3d (both provide pop3-server), so its packages are unpacked,
# not installed, into a directory of their own; the test runs its
# courierpop3d over pipes, and its whole login stack (couriertcpd,
# courierpop3login, authdaemond) in a mount namespace.  apt resolves no
# dependency of an unpacked package: the libraries it needs beyond the
# list above are in it (libltdl7, libgdbm6, libidn12).
courier=/opt/pop3d-test-courier
if [ "$(id -u)" = 0 ] && [ ! -x "$courier/usr/lib/courier/courier/courierpop3d" ]; then
	debs=$(mktemp -d)
	if (cd "$debs" && apt-get download -q courier-pop courier-base \
	    courier-authlib libcourier-unicode4 >/dev/null 2>&1); then
		for deb in "$debs"/*.deb; do
			dpkg-deb -x "$deb" "$courier"
		done
	else
		echo "deps: courier-pop not available; its test is skipped" >&2
	fi
	rm -rf "$debs"
fi

# The unprivileged user of the pre-login process (see pop3d.conf(5)).
if [ "$(id -u)" = 0 ] && ! getent passwd pop3d >/dev/null; then
	useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin pop3d
fi
exit 0
