#!/usr/bin/env bash
# Installs what the tests need on Debian: PostgreSQL, OpenLDAP (slapd and
# ldap-utils), Chromium, a Samba Active Directory domain controller
# (samba, samba-ad-dc, samba-ad-provision, winbind, ldb-tools, smbclient)
# and promtool (from the prometheus package, for the alert rules and the
# metrics' exposition).
# Quick and silent when everything is there.
#
# The tests start their own throwaway servers (internal/testenv) on random
# ports or loopback addresses, so the system's slapd instance, PostgreSQL
# cluster, Samba and Prometheus services are never used: slapd is installed
# unconfigured and no service is started during the install. As a non-root user it only
# reports what is missing.
set -euo pipefail

missing=()

have_initdb() {
	local f
	for f in /usr/lib/postgresql/*/bin/initdb; do
		[[ -x "$f" ]] && return 0
	done
	command -v initdb >/dev/null 2>&1
}
have() { # have PROGRAM [ABSOLUTE_PATH]: slapd lives in /usr/sbin, often not on PATH
	command -v "$1" >/dev/null 2>&1 || { [[ -n "${2:-}" && -x "$2" ]]; }
}
installed() { # installed PACKAGE: for packages that bring no program of their own
	[[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

have_initdb || missing+=(postgresql)
{ have slapd /usr/sbin/slapd && have slapadd /usr/sbin/slapadd; } || missing+=(slapd)
{ have ldapmodify && have ldapsearch; } || missing+=(ldap-utils)
have chromium /usr/bin/chromium || missing+=(chromium)
have samba /usr/sbin/samba || missing+=(samba)
installed samba-ad-dc || missing+=(samba-ad-dc)
# samba-ad-dc only recommends the schema and templates that samba-tool domain
# provision reads, so --no-install-recommends would leave them out.
[[ -d /usr/share/samba/setup/ad-schema ]] || missing+=(samba-ad-provision)
have winbindd /usr/sbin/winbindd || missing+=(winbind)
{ have ldbadd && have ldbsearch; } || missing+=(ldb-tools)
have smbclient || missing+=(smbclient)
have promtool || missing+=(prometheus)

if ((${#missing[@]} == 0)); then
	exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
	echo "install-test-deps: missing Debian packages: ${missing[*]}" >&2
	echo "install-test-deps: run as root: sudo $0   (or: sudo apt-get install ${missing[*]})" >&2
	exit 1
fi

echo "install-test-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive

# Leave slapd unconfigured: no debconf questions, no system database, no
# cn=config of its own. The tests generate theirs.
echo "slapd slapd/no_configuration boolean true" | debconf-set-selections

# Keep apt from starting slapd, the PostgreSQL cluster it creates, Samba's
# smbd, nmbd, winbind and samba-ad-dc, or Prometheus (the package brings
# promtool with a server): a policy-rc.d that denies every start,
# removed afterwards unless it was already there (Docker images ship one).
policy=/usr/sbin/policy-rc.d
own_policy=false
if [[ ! -e "$policy" ]]; then
	printf '#!/bin/sh\n# install-test-deps.sh: no service starts during the install\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	own_policy=true
	trap 'rm -f "$policy"' EXIT
fi

apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

if $own_policy; then
	rm -f "$policy"
	trap - EXIT
fi

# Belt and braces on machines where something started them anyway (a
# systemd that ignores policy-rc.d): the tests never use them, and they
# would only hold ports and memory.
for svc in slapd postgresql samba-ad-dc smbd nmbd winbind prometheus; do
	if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
		systemctl disable --now "$svc" >/dev/null 2>&1 || true
	fi
done

echo "install-test-deps: done" >&2
