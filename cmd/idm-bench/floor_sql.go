package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gorm.io/gorm"

	"idm/internal/domain"
	"idm/internal/store"
)

// phaseFloorDeactivate is the SQL half of (d)'s composite floor: the row
// changes the inactive job makes, applied by bare set-based statements.
const phaseFloorDeactivate = "floor-deactivate"

// deactivateStatements are the set-based statements that make, on a store
// seeded by seedInactiveHoldings, the same row changes as the inactive job:
// a run item per holder (with a changes text as long as the job's), every
// certificate and credential to its end state, every role withdrawn, every
// holder inactive. The holders are the active users holding credentials,
// which is what the seed made; users go last, since the other statements
// find the holders by their state. Each returns its name and its SQL with
// arguments.
func deactivateStatements(runID string, now time.Time, changes string) []struct {
	name string
	sql  string
	args []any
} {
	holders := "SELECT u.id FROM users u WHERE u.state = 'active' AND EXISTS (SELECT 1 FROM credentials c WHERE c.user_id = u.id)"
	creds := func(cond string) string {
		return "SELECT c.id FROM credentials c WHERE c.user_id IN (" + holders + ") AND " + cond
	}
	return []struct {
		name string
		sql  string
		args []any
	}{
		{"run_items", "INSERT INTO run_items (run_id, seq, user_id, username, dn, outcome, changes, error) " +
			"SELECT ?, ROW_NUMBER() OVER (ORDER BY u.id), u.id, u.username, u.dn, 'deactivated', ?, '' FROM users u WHERE u.id IN (" + holders + ")",
			[]any{runID, changes}},
		{"certificates", "UPDATE certificates SET state = 'revoked', revocation_reason = ?, revoked_at = ?, updated_at = ? " +
			"WHERE state IN ('active', 'on_hold') AND not_after > ? AND credential_id IN (" + creds("c.type = 'temporary_card'") + ")",
			[]any{domain.ReasonCessationOfOperation, now, now, now}},
		{"certificates", "UPDATE certificates SET state = 'on_hold', revocation_reason = ?, updated_at = ? " +
			"WHERE state = 'active' AND not_after > ? AND credential_id IN (" + creds("c.type <> 'temporary_card'") + ")",
			[]any{domain.ReasonCertificateHold, now, now}},
		{"credentials", "UPDATE credentials SET state = CASE WHEN type = 'temporary_card' THEN 'locked' ELSE 'inactive' END, updated_at = ? " +
			"WHERE user_id IN (" + holders + ") AND state <> CASE WHEN type = 'temporary_card' THEN 'locked' ELSE 'inactive' END",
			[]any{now}},
		{"role_assignments", "UPDATE role_assignments SET withdrawn_at = ?, withdrawn_by = ? WHERE withdrawn_at IS NULL AND user_id IN (" + holders + ")",
			[]any{now, runID}},
		{"users", "UPDATE users SET state = 'inactive', updated_at = ?, last_synced_at = ? WHERE id IN (" + holders + ")",
			[]any{now, now}},
	}
}

// holderChanges is the changes text of the run item the inactive job writes
// for holder i: as long as the job's, so that the floor writes as many bytes.
func holderChanges(i int, now time.Time) string {
	d := holder(i, now)
	changes := []domain.FieldChange{{Field: "state", Before: string(domain.UserActive), After: string(domain.UserInactive)}}
	for _, c := range d.Credentials {
		credTarget, certTarget, _ := domain.DeactivationTarget(c.Type)
		changes = append(changes, domain.FieldChange{Field: domain.CredentialChangeField(c.Type, c.Serial), Before: string(c.State), After: string(credTarget)})
		for _, k := range c.Certificates {
			changes = append(changes, domain.FieldChange{Field: domain.CertificateChangeField(k.Serial, c.Type, c.Serial), Before: string(k.State), After: string(certTarget)})
		}
	}
	for _, r := range d.Roles {
		changes = append(changes, domain.FieldChange{Field: domain.RoleChangeField(r.RoleName), Before: "assigned", After: "withdrawn"})
	}
	b, _ := json.Marshal(changes)
	return string(b)
}

// measureDeactivateSQL applies deactivateStatements in one transaction (with
// the run record the run items refer to) and reports the time and the rows
// each table had changed.
func measureDeactivateSQL(ctx context.Context, db *store.DB, res *phaseResult) error {
	now := db.Now()
	runID := store.NewID()
	changes := holderChanges(9, now)
	w := db.Pools()[0].WithContext(ctx)
	// Fresh statistics, so that the planner picks its best plan for these
	// statements over the rows just seeded: a floor is the least it costs.
	if err := w.Exec("ANALYZE").Error; err != nil {
		return fmt.Errorf("floor: analyze: %w", err)
	}
	start := time.Now()
	err := w.Transaction(func(tx *gorm.DB) error {
		run := domain.Run{ID: runID, JobKey: domain.JobInactive, Trigger: domain.TriggerCLI, Status: domain.RunRunning, StartedAt: now, HeartbeatAt: now}
		if err := tx.Create(&run).Error; err != nil {
			return fmt.Errorf("floor: run record: %w", err)
		}
		for _, st := range deactivateStatements(runID, now, changes) {
			// Table names the statement's table for the row counter.
			r := tx.Table(st.name).Exec(st.sql, st.args...)
			if r.Error != nil {
				return fmt.Errorf("floor: %s: %w", st.name, r.Error)
			}
			if st.name == "run_items" {
				res.Entries = int(r.RowsAffected)
			}
		}
		return nil
	})
	res.WallSeconds = time.Since(start).Seconds()
	return err
}

// compositeFloor measures (d)'s composite floor: the inactive filter's bare
// read plus deactivateStatements on a copy of the seeded store at url (so
// that (d) still finds every holder to deactivate).
func (b *bench) compositeFloor(ctx context.Context, dir, url string, n int, dbName string, read *measurement, dr *dbReport) error {
	clone, drop, err := b.cloneStore(dir, url, dbName)
	if err != nil {
		return fmt.Errorf("clone the seeded store: %w", err)
	}
	defer drop()
	m, err := b.phase(ctx, clone, phaseFloorDeactivate, "(d) floor: set-based SQL", n, dbName, nil)
	if err != nil {
		return err
	}
	dr.DeactivateSQL = m
	dr.CompositeFloorSeconds = read.WallSeconds + m.WallSeconds
	progress("N=%d %s: (d) composite floor %.2fs: read %.2fs + SQL %.2fs (%d rows, %.0f rows/s)",
		n, dbName, dr.CompositeFloorSeconds, read.WallSeconds, m.WallSeconds, m.DataRows, m.RowsPerSecond)
	return nil
}

// cloneStore copies the store at url, which no process may have open: a
// PostgreSQL database from it as template, a SQLite file by copying it.
func (b *bench) cloneStore(dir, url, dbName string) (string, func(), error) {
	b.seq++
	if dbName == "postgres" {
		u, err := neturl.Parse(url)
		if err != nil {
			return "", nil, err
		}
		name := fmt.Sprintf("bench_clone_%d", b.seq)
		clone, err := b.pg.CloneDatabase(strings.TrimPrefix(u.Path, "/"), name)
		if err != nil {
			return "", nil, err
		}
		if b.o.pgParams != "" {
			clone += "&" + b.o.pgParams
		}
		return clone, func() { _ = b.pg.DropDatabase(name) }, nil
	}
	src := strings.TrimPrefix(url, "sqlite://")
	dst := filepath.Join(dir, fmt.Sprintf("clone-%d.db", b.seq))
	drop := func() {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			_ = os.Remove(dst + suffix)
		}
	}
	for _, suffix := range []string{"", "-wal"} {
		if err := copyFile(src+suffix, dst+suffix); err != nil && !(suffix != "" && errors.Is(err, fs.ErrNotExist)) {
			drop()
			return "", nil, err
		}
	}
	return "sqlite://" + dst, drop, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
