package testenv

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// passwordHBA makes the server check passwords (SCRAM) for every role but
// postgres, testenv's own superuser, which stays trusted.
const passwordHBA = `local all all trust
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
`

// PostgresPasswordURL returns the URL, password included, of a fresh
// database on the shared server owned by a new role that signs in with
// password: the server refuses that role any other password, as a
// production server does. Role and database are dropped when tb ends.
func PostgresPasswordURL(tb testing.TB, password string) string {
	tb.Helper()
	adminURL := PostgresURL(tb) // starts the server; its database is the role's
	u, err := url.Parse(adminURL)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	shared.mu.Lock()
	srv := shared.pg
	shared.mu.Unlock()
	if err := srv.checkPasswords(); err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	database, role := strings.TrimPrefix(u.Path, "/"), "r_"+randomHex(8)
	quoted := "'" + strings.ReplaceAll(password, "'", "''") + "'"
	for _, sql := range []string{"CREATE ROLE " + role + " LOGIN PASSWORD " + quoted, "ALTER DATABASE " + database + " OWNER TO " + role} {
		if err := srv.admin(sql); err != nil {
			tb.Fatalf("testenv: %v", err)
		}
	}
	tb.Cleanup(func() {
		// The database first: a role that owns one cannot be dropped.
		for _, sql := range []string{"DROP DATABASE IF EXISTS " + database + " WITH (FORCE)", "DROP ROLE IF EXISTS " + role} {
			if err := srv.admin(sql); err != nil {
				tb.Errorf("testenv: %v", err)
			}
		}
	})
	u.User = url.UserPassword(role, password+"-wrong")
	if err := awaitPasswordCheck(u.String()); err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	u.User = url.UserPassword(role, password)
	return u.String()
}

// awaitPasswordCheck waits until the server, having reloaded its
// configuration, refuses wrongURL's password.
func awaitPasswordCheck(wrongURL string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, wrongURL)
		cancel()
		if err != nil && strings.Contains(err.Error(), "password authentication failed") {
			return nil
		}
		if conn != nil {
			_ = conn.Close(context.Background())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server still lets a wrong password in after reloading pg_hba.conf (%v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkPasswords installs passwordHBA and reloads the server's
// configuration. Tests that connect as postgres are not affected.
func (s *pgServer) checkPasswords() error {
	path := filepath.Join(s.data, "pg_hba.conf")
	if err := os.WriteFile(path, []byte(passwordHBA), 0o600); err != nil {
		return fmt.Errorf("write pg_hba.conf: %w", err)
	}
	if s.cred != nil {
		if err := os.Chown(path, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return fmt.Errorf("pg_hba.conf: %w", err)
		}
	}
	return s.admin("SELECT pg_reload_conf()")
}
