package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"idm/internal/demo/ldapserver"
	"idm/internal/secret"
	"idm/internal/store"
)

// demoActor names the demo mode in audit events and on what it saves.
const demoActor = "demo"

// Demo is the running demo mode: the sample directory served over LDAP on
// loopback, with the product pointed at it.
type Demo struct {
	// URL is where the sample directory listens, such as ldap://127.0.0.1:38911.
	URL string
	// Loaded is how many sample users this start added to the store (0 when
	// an earlier start had loaded them).
	Loaded int

	srv *ldapserver.Server
}

// Setup starts the sample directory (DemoPeople people, a tenth locked) on
// the loopback address addr ("127.0.0.1:0" for any port) with a new random
// bind password, saves the LDAP settings that point at it (every start,
// since the port and the password change), and loads the sample users with
// their credentials, certificates and roles into db once: users that are
// already stored are never touched again, so that what the jobs changed
// survives a restart. Close stops the directory.
func Setup(ctx context.Context, db *store.DB, box *secret.Box, logger *slog.Logger, addr string) (*Demo, error) {
	return setup(ctx, db, box, logger, addr, DemoPageDelay)
}

// setup is Setup with the directory's delay per page (tests that do not
// watch progress pass 0).
func setup(ctx context.Context, db *store.DB, box *secret.Box, logger *slog.Logger, addr string, pageDelay time.Duration) (*Demo, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	password, err := randomSecret()
	if err != nil {
		return nil, err
	}
	cfg := DemoServerConfig(password, logger)
	cfg.PageDelay = pageDelay
	if addr != "" {
		cfg.Addr = addr
	}
	srv, err := ldapserver.Start(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("demo: start the sample directory: %w", err)
	}
	d := &Demo{URL: srv.URL(), srv: srv}
	if err := d.saveSettings(ctx, db, box, password); err != nil {
		_ = srv.Close()
		return nil, err
	}
	if d.Loaded, err = loadSampleData(ctx, db, cfg.Entries); err != nil {
		_ = srv.Close()
		return nil, err
	}
	logger.Info("demo directory ready", "url", d.URL, "people", DemoPeople, "sample_users_loaded", d.Loaded)
	return d, nil
}

// Close stops the sample directory.
func (d *Demo) Close() error {
	if err := d.srv.Close(); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}

// saveSettings points the LDAP settings at the running directory, over
// whatever was saved before.
func (d *Demo) saveSettings(ctx context.Context, db *store.DB, box *secret.Box, password string) error {
	current, err := db.LDAPSettings(ctx)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	s := DemoLDAPSettings(d.URL)
	if s.BindPasswordEnc, err = box.Seal(password); err != nil {
		return fmt.Errorf("demo: seal the bind password: %w", err)
	}
	s.Version = current.Version
	if _, err := db.SaveLDAPSettings(ctx, s, demoActor); err != nil {
		return fmt.Errorf("demo: save the LDAP settings: %w", err)
	}
	return nil
}

// loadSampleData imports the sample users that are not stored yet, and
// returns how many it imported. A start interrupted half way is completed
// by the next one.
func loadSampleData(ctx context.Context, db *store.DB, entries []ldapserver.Entry) (int, error) {
	records := SampleHoldings(entries, db.Now())
	names := make([]string, len(records))
	for i, r := range records {
		names[i] = r.Username
	}
	have, err := db.UsersByUsernames(ctx, names)
	if err != nil {
		return 0, fmt.Errorf("demo: %w", err)
	}
	loaded := 0
	for _, r := range records {
		if have[r.Username] != nil {
			continue
		}
		if _, err := db.ImportUser(ctx, r); err != nil {
			return loaded, fmt.Errorf("demo: load sample user %s: %w", r.Username, err)
		}
		loaded++
	}
	return loaded, nil
}

// randomSecret is a fresh bind password for one start of the demo directory.
func randomSecret() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("demo: bind password: %w", err)
	}
	return hex.EncodeToString(b), nil
}
