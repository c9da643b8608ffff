package testenv

import (
	"os/exec"
	"testing"
)

// Promtool returns the path of promtool, from Debian's prometheus package
// (scripts/install-test-deps.sh installs it without starting Prometheus).
// A missing promtool skips the test, or fails it in CI.
func Promtool(tb testing.TB) string {
	tb.Helper()
	path, err := exec.LookPath("promtool")
	Require(tb, "promtool", err)
	tb.Logf("testenv: uses promtool")
	return path
}
