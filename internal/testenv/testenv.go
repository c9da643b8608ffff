// Package testenv gives tests the real things they run against: a throwaway
// PostgreSQL server, SQLite files, throwaway OpenLDAP (slapd) directories and
// a headless Chromium. It is imported only from _test.go files.
//
// A dependency that is not installed skips the test on a developer machine
// and fails it in CI (CI=true), so that CI never passes by skipping.
// scripts/install-test-deps.sh installs everything on Debian.
//
// Test packages that use PostgresURL must run their tests through Main:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
package testenv

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
)

// Require fails (CI=true) or skips (otherwise) the test when err says that
// the dependency named by what is unavailable. A nil err does nothing, so
// callers can pass the result of a probe straight in.
func Require(tb testing.TB, what string, err error) {
	tb.Helper()
	if err == nil {
		return
	}
	if InCI() {
		tb.Fatalf("testenv: %s unavailable (CI=true makes this a failure; run scripts/install-test-deps.sh as root): %v", what, err)
		return
	}
	tb.Skipf("testenv: %s unavailable, skipping (scripts/install-test-deps.sh installs it): %v", what, err)
}

// InCI reports whether the tests run in CI, where a missing dependency is a
// failure rather than a skip.
func InCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// SQLiteURL returns the sqlite:// URL of a new database file in a directory
// that is removed when the test ends.
func SQLiteURL(tb testing.TB) string {
	tb.Helper()
	tb.Logf("testenv: uses sqlite")
	return "sqlite://" + filepath.Join(tb.TempDir(), "idm.db")
}

// Store names one database that store tests run against, and makes a fresh,
// empty database of that kind for a test.
type Store struct {
	Name string
	URL  func(testing.TB) string
}

// Stores lists the databases the store supports, SQLite first.
func Stores() []Store {
	return []Store{
		{Name: "sqlite", URL: SQLiteURL},
		{Name: "postgres", URL: PostgresURL},
	}
}

// EachStore runs fn as one subtest per database, named "sqlite" and
// "postgres", each with the URL of a fresh, empty database. The database is
// made inside the subtest, so a missing PostgreSQL skips (or, in CI, fails)
// only the postgres subtest, and -run 'Test/sqlite' never starts PostgreSQL.
func EachStore(t *testing.T, fn func(t *testing.T, url string)) {
	t.Helper()
	for _, s := range Stores() {
		t.Run(s.Name, func(t *testing.T) {
			fn(t, s.URL(t))
		})
	}
}

// Main runs the package's tests, then stops the servers they started and
// exits with the tests' status. Use it as the package's TestMain.
func Main(m *testing.M) {
	shared.mu.Lock()
	shared.mainCalled = true
	shared.mu.Unlock()

	code := m.Run()

	shared.mu.Lock()
	pg := shared.pg
	shared.mu.Unlock()
	if pg != nil {
		if err := pg.stop(syscall.SIGQUIT); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		}
		pg.remove()
	}
	os.Exit(code)
}

// shared is the one piece of package-level mutable state: the PostgreSQL
// server that every test of a process shares. Starting a server per test
// would cost about a second each; one server with a fresh database per test
// keeps tests isolated at a fraction of that. Main stops it.
var shared struct {
	mu         sync.Mutex
	mainCalled bool
	pgOnce     sync.Once
	pg         *pgServer
	pgErr      error
}

// freePort asks the kernel for a free TCP port on 127.0.0.1. Another process
// can take it before the server binds it; the starters retry on a new port
// when the server exits early.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("testenv: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// randomHex returns n random bytes as hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}

// lookBin finds a program in the given absolute paths first, then on PATH:
// Debian puts slapd in /usr/sbin, which is not on a normal user's PATH.
func lookBin(name string, paths ...string) (string, error) {
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("testenv: %s not found (looked in %v and PATH): %w", name, paths, err)
	}
	return p, nil
}

// logBuffer collects a server's output for error messages, keeping only
// the last part so a chatty server cannot grow it without bound.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

const logBufferMax = 64 << 10

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if b.buf.Len() > logBufferMax {
		keep := b.buf.Bytes()[b.buf.Len()-logBufferMax/2:]
		b.buf = *bytes.NewBuffer(append([]byte(nil), keep...))
	}
	return len(p), nil
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
