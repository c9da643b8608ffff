#!/usr/bin/env bash
# Runs every test with -race, keeps the verbose output in test-output.log,
# and prints a digest: each test and package, every skip and failure (with
# its messages), and what the tests ran against. With CI=true a real
# dependency that no test used fails the run: a suite that silently stopped
# reaching PostgreSQL, slapd, Samba, Chromium or promtool must not pass.
set -uo pipefail
cd "$(dirname "$0")/.."
log=test-output.log
go=${GO:-go}

$go test -race -count=1 -timeout 45m -v ./... >"$log" 2>&1
status=$?
$go test -run '^$' -fuzz '^FuzzDecodeMessage$' -fuzztime 10s ./internal/directory >>"$log" 2>&1 || status=1 # the LDAP decoder, briefly fuzzed

grep -E '^(ok|FAIL|panic:|--- )|^\s+--- (FAIL|SKIP)|^\?' "$log"
if ((status != 0)); then
	echo
	echo "Failures (the whole output is in $log):"
	grep -n -B2 -A25 -E -- '--- FAIL|^panic:' "$log" | head -400
fi

echo
printf 'Real dependencies the tests used: PostgreSQL %d times, SQLite %d, slapd %d, Samba AD DC %d, Chromium %d, promtool %d\n' \
	"$(grep -c 'testenv: uses postgresql' "$log")" "$(grep -c 'testenv: uses sqlite' "$log")" \
	"$(grep -c 'testenv: uses slapd' "$log")" "$(grep -c 'testenv: uses samba' "$log")" \
	"$(grep -c 'testenv: uses chromium' "$log")" "$(grep -c 'testenv: uses promtool' "$log")"
grep -E '^testenv: samba template built' "$log" || true
printf 'Skipped: %d\n' "$(grep -cE -- '--- SKIP' "$log")"
if [[ "${CI:-}" == "true" ]]; then
	for dep in postgresql sqlite slapd samba chromium promtool; do
		if ! grep -q "testenv: uses $dep" "$log"; then
			echo "CI: no test ran against $dep" >&2
			status=1
		fi
	done
fi
exit "$status"
