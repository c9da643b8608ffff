package testenv

import (
	"fmt"
	"syscall"
)

// PostgresServer is a throwaway PostgreSQL server for a program rather than
// a test (the benchmark, cmd/idm-bench): the same server tests get, with
// errors returned instead of failing a testing.TB. Close stops it and
// removes its directory.
type PostgresServer struct {
	srv *pgServer
}

// StartPostgresServer starts a throwaway PostgreSQL server on a free
// loopback port with PostgreSQL's default settings, as a production server
// starts: unlike the tests' server, autovacuum (and so autoanalyze) runs and
// commits are durable, so that what is measured on it holds in production.
func StartPostgresServer() (*PostgresServer, error) {
	srv, err := newPGServer()
	if err != nil {
		return nil, err
	}
	var startErr error
	for range 3 {
		if srv.port, startErr = freePort(); startErr != nil {
			break
		}
		if startErr = srv.startDefaults(); startErr == nil {
			return &PostgresServer{srv: srv}, nil
		}
	}
	srv.remove()
	return nil, startErr
}

// startDefaults starts postgres with its default settings (only where it
// listens changes) and waits until it accepts connections.
func (s *pgServer) startDefaults() error {
	return s.launch("-c", "max_connections=200", "-c", "logging_collector=off")
}

// CreateDatabase creates the empty database name (letters, digits and
// underscores) and returns its URL.
func (p *PostgresServer) CreateDatabase(name string) (string, error) {
	if err := p.srv.admin("CREATE DATABASE " + name); err != nil {
		return "", err
	}
	return p.srv.url(name), nil
}

// CloneDatabase creates the database name as a copy of the database src
// (which nobody may be connected to) and returns its URL.
func (p *PostgresServer) CloneDatabase(src, name string) (string, error) {
	if err := p.srv.admin("CREATE DATABASE " + name + " TEMPLATE " + src); err != nil {
		return "", err
	}
	return p.srv.url(name), nil
}

// DropDatabase drops the database name, closing its connections.
func (p *PostgresServer) DropDatabase(name string) error {
	return p.srv.admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
}

// Pid is the server's process id (its postmaster), for reading the CPU
// time the server and its backends used.
func (p *PostgresServer) Pid() int {
	if p.srv.cmd == nil || p.srv.cmd.Process == nil {
		return 0
	}
	return p.srv.cmd.Process.Pid
}

// Close stops the server and removes its directory.
func (p *PostgresServer) Close() error {
	err := p.srv.stop(syscall.SIGQUIT)
	p.srv.remove()
	if err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	return nil
}
