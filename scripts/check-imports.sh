#!/usr/bin/env bash
# Persistence lives in internal/store: GORM may be imported only there, in
# migrations, in internal/testenv and in the benchmark (its row counter and
# set-up); store.DB.Pools, the store's GORM escape hatch, is called only by
# the same. Tests count too.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
allowed='^idm/(internal/store|migrations|internal/testenv|cmd/idm-bench)(_test)?$'
bad=$($GO list -test -f '{{.ImportPath}} {{join .Imports " "}}' ./... |
	awk -v allowed="$allowed" '{
		pkg = $1; sub(/ \[.*$/, "", pkg); sub(/\.test$/, "", pkg)
		if (pkg ~ allowed) next
		for (i = 2; i <= NF; i++) if ($i ~ /^gorm\.io\//) { print pkg " imports " $i; break }
	}' | sort -u)
pools=$(git grep -n '\.Pools()' -- '*.go' ':!internal/store/' ':!internal/testenv/' ':!cmd/idm-bench/' || true)
if [ -n "$bad$pools" ]; then
	[ -n "$bad" ] && echo "$bad"
	[ -n "$pools" ] && echo "$pools"
	echo "GORM belongs to internal/store (see docs/architecture.md): add a store method instead"
	exit 1
fi
