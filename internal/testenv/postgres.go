package testenv

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresURL returns the postgres:// URL of a fresh, empty database on the
// process's shared throwaway server, started on first use. The database is
// dropped when the test ends. The package must use Main as its TestMain, so
// that the server is stopped after the tests.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	shared.mu.Lock()
	mainCalled := shared.mainCalled
	shared.mu.Unlock()
	if !mainCalled {
		tb.Fatalf("testenv: PostgresURL needs the package to stop the server after its tests: add func TestMain(m *testing.M) { testenv.Main(m) }")
	}
	shared.pgOnce.Do(func() {
		srv, err := newPGServer()
		if err == nil {
			err = srv.start()
		}
		shared.mu.Lock()
		defer shared.mu.Unlock()
		if err != nil {
			shared.pgErr = err
			if srv != nil {
				srv.remove()
			}
			return
		}
		shared.pg = srv
	})
	shared.mu.Lock()
	srv, err := shared.pg, shared.pgErr
	shared.mu.Unlock()
	Require(tb, "postgresql", err)
	url := srv.createDatabase(tb)
	tb.Logf("testenv: uses postgresql on port %d", srv.port)
	return url
}

// Postgres is a throwaway PostgreSQL server of one test, for tests that stop
// and restart the database. Other tests use PostgresURL's shared server.
type Postgres struct {
	Port int

	tb  testing.TB
	srv *pgServer
}

// StartPostgres starts a PostgreSQL server for this test alone; it is stopped
// and removed when the test ends. It takes about a second.
func StartPostgres(tb testing.TB) *Postgres {
	tb.Helper()
	srv, err := newPGServer()
	if err == nil {
		err = srv.start()
		if err != nil {
			srv.remove()
		}
	}
	Require(tb, "postgresql", err)
	tb.Cleanup(func() {
		if err := srv.stop(syscall.SIGQUIT); err != nil {
			tb.Errorf("%v", err)
		}
		srv.remove()
	})
	return &Postgres{Port: srv.port, tb: tb, srv: srv}
}

// NewDatabase creates a fresh, empty database and returns its URL; it is
// dropped when tb ends.
func (p *Postgres) NewDatabase(tb testing.TB) string {
	tb.Helper()
	return p.srv.createDatabase(tb)
}

// Stop shuts the server down the way an administrator restarting it would
// (fast shutdown: open connections are closed, committed data is kept).
// Call it from the test that started the server.
func (p *Postgres) Stop() {
	p.tb.Helper()
	if err := p.srv.stop(syscall.SIGINT); err != nil {
		p.tb.Fatalf("%v", err)
	}
}

// Start starts a stopped server again on the same port with the same data.
func (p *Postgres) Start() {
	p.tb.Helper()
	if err := p.srv.start(); err != nil {
		p.tb.Fatalf("%v", err)
	}
}

// pgServer is one postgres process and its directory.
type pgServer struct {
	bin  string // directory of initdb and postgres
	root string // socket directory; holds data/
	data string
	cred *syscall.Credential // the unprivileged user when we are root
	port int
	log  *logBuffer
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// postgresBinDir finds Debian's /usr/lib/postgresql/<newest>/bin, or a
// directory on PATH that holds initdb.
func postgresBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	p, err := exec.LookPath("initdb")
	if err != nil {
		return "", fmt.Errorf("testenv: initdb not found in /usr/lib/postgresql/*/bin or PATH (Debian package postgresql): %w", err)
	}
	return filepath.Dir(p), nil
}

// newPGServer makes a data directory with initdb. initdb and postgres
// refuse to run as root, so as root they run as the postgres system user
// (set directly as the child's credentials rather than through runuser, so
// that the server is our own child: its pid is the one we signal, and the
// kernel stops it if the test process dies).
func newPGServer() (*pgServer, error) {
	bin, err := postgresBinDir()
	if err != nil {
		return nil, err
	}
	s := &pgServer{bin: bin, log: &logBuffer{}}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("testenv: running as root needs the postgres system user to run the server: %w", err)
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	root, err := os.MkdirTemp("", "idm-testenv-pg-")
	if err != nil {
		return nil, fmt.Errorf("testenv: postgres directory: %w", err)
	}
	s.root, s.data = root, filepath.Join(root, "data")
	if s.cred != nil {
		if err := os.Chown(root, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			s.remove()
			return nil, fmt.Errorf("testenv: postgres directory: %w", err)
		}
	}
	tmpl, err := s.template()
	if err != nil {
		s.remove()
		return nil, err
	}
	if out, err := s.command("cp", "-a", tmpl, s.data).CombinedOutput(); err != nil {
		s.remove()
		return nil, fmt.Errorf("testenv: copy the initdb template: %w\n%s", err, out)
	}
	return s, nil
}

// template returns a data directory made by initdb, made once per machine,
// PostgreSQL build and user, and kept in the temporary directory: copying it
// takes a quarter of the time of initdb, which every test process would
// otherwise pay. It is made beside its final name and renamed into place, so
// that test processes running at once never see half of one.
func (s *pgServer) template() (string, error) {
	st, err := os.Stat(filepath.Join(s.bin, "postgres"))
	if err != nil {
		return "", fmt.Errorf("testenv: postgres binary: %w", err)
	}
	uid := os.Getuid()
	if s.cred != nil {
		uid = int(s.cred.Uid)
	}
	build := fmt.Sprintf("%s|%d|%d", s.bin, st.Size(), st.ModTime().UnixNano())
	final := filepath.Join(os.TempDir(), fmt.Sprintf("idm-testenv-pgtemplate-%d-%x", uid, fnv64(build)))
	if _, err := os.Stat(filepath.Join(final, "PG_VERSION")); err == nil {
		return final, nil
	}
	work := filepath.Join(s.root, "template")
	out, err := s.command(filepath.Join(s.bin, "initdb"),
		"-D", work, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C",
		"--no-sync", "--no-instructions").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("testenv: initdb: %w\n%s", err, out)
	}
	// Another process may have renamed its template into place first; then
	// the rename fails and that one serves.
	if err := os.Rename(work, final); err != nil {
		if _, statErr := os.Stat(filepath.Join(final, "PG_VERSION")); statErr != nil {
			return "", fmt.Errorf("testenv: keep the initdb template: %w", err)
		}
		_ = os.RemoveAll(work)
	}
	return final, nil
}

func fnv64(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return h.Sum64()
}

// command prepares a program to run as the server's user in its directory
// (the postgres user cannot enter root's working directory).
func (s *pgServer) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = s.root
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: s.cred,
		// SIGQUIT is postgres's immediate shutdown: if the test process dies
		// the server goes with it and cleans up its shared memory.
		Pdeathsig: syscall.SIGQUIT,
	}
	return cmd
}

// start starts postgres and waits until it accepts connections. The first
// start picks a free port, retrying on another one if the server cannot
// bind it; a restart keeps the port.
func (s *pgServer) start() error {
	keepPort := s.port != 0
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if !keepPort {
			if s.port, err = freePort(); err != nil {
				return err
			}
		}
		if err = s.startOnce(); err == nil || keepPort {
			return err
		}
	}
	return err
}

func (s *pgServer) startOnce() error {
	return s.launch(
		// Durability off: a test database never outlives an OS crash.
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off",
		"-c", "max_connections=200", "-c", "shared_buffers=32MB",
		"-c", "autovacuum=off", "-c", "logging_collector=off")
}

// launch starts postgres on the server's port and socket directory with the
// extra settings, and waits until it accepts connections.
func (s *pgServer) launch(settings ...string) error {
	args := append([]string{"-D", s.data, "-p", strconv.Itoa(s.port), "-k", s.root, "-c", "listen_addresses=127.0.0.1"}, settings...)
	cmd := s.command(filepath.Join(s.bin, "postgres"), args...)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testenv: start postgres: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done

	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, s.url("postgres"))
		if err == nil {
			err = conn.Ping(ctx)
			_ = conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-done:
			s.cmd = nil
			return fmt.Errorf("testenv: postgres exited at start on port %d: %s", s.port, s.log.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = s.stop(syscall.SIGQUIT)
			return fmt.Errorf("testenv: postgres on port %d not ready after 60s: %w\n%s", s.port, err, s.log.String())
		}
	}
}

// stop shuts the server down with sig (SIGQUIT: immediate, like pg_ctl stop
// -m immediate, which loses commits that synchronous_commit=off has not yet
// written; SIGINT: fast, which keeps them) and waits for it to exit. The
// data directory stays.
func (s *pgServer) stop(sig os.Signal) error {
	if s.cmd == nil {
		return nil
	}
	cmd, done := s.cmd, s.done
	s.cmd = nil
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
		return nil
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("testenv: postgres did not stop within 15s of %v; killed it", sig)
	}
}

// remove deletes the server's directory.
func (s *pgServer) remove() {
	if s.root != "" {
		_ = os.RemoveAll(s.root)
	}
}

func (s *pgServer) url(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, database)
}

// createDatabase makes a database with a random name and drops it (closing
// any connection the test left open) when tb ends.
func (s *pgServer) createDatabase(tb testing.TB) string {
	tb.Helper()
	name := "t_" + randomHex(8)
	// FILE_COPY is faster than PostgreSQL 15's default WAL_LOG for a small
	// template when fsync is off.
	if err := s.admin("CREATE DATABASE " + name + " STRATEGY FILE_COPY"); err != nil {
		tb.Fatalf("testenv: create database: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			tb.Errorf("testenv: drop database %s: %v", name, err)
		}
	})
	return s.url(name)
}

// admin runs one statement in the postgres database. Each call has its own
// connection so that parallel tests never share one.
func (s *pgServer) admin(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.url("postgres"))
	if err != nil {
		return fmt.Errorf("testenv: connect to postgres on port %d: %w", s.port, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("testenv: %s: %w", strings.Fields(sql)[0], err)
	}
	return nil
}
