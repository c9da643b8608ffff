package store_test

import (
	"context"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"idm/internal/domain"
	"idm/internal/store"
	"idm/internal/testenv"
)

// copiedAlike copies row with the store's own COPY encoder and its twin
// (row with the keys rekey sets) with pgx's CopyFrom, reads both back and
// checks that they are stored alike: unkey clears the keys of a row read
// back.
func copiedAlike[T any](t *testing.T, db *store.DB, row T, rekey func(*T), id func(*T) string, unkey func(*T)) {
	t.Helper()
	ctx := context.Background()
	twin := row
	rekey(&twin)
	encoded, err := store.CopyRows(ctx, db, []T{row}, false)
	if err != nil {
		t.Fatalf("copy %T: %v", row, err)
	}
	if !encoded {
		t.Fatalf("%T was copied by pgx, not by the store's encoder", row)
	}
	if _, err := store.CopyRows(ctx, db, []T{twin}, true); err != nil {
		t.Fatalf("copy %T with pgx: %v", twin, err)
	}
	var got, want T
	if err := db.Pools()[0].Where("id = ?", id(&row)).Take(&got).Error; err != nil {
		t.Fatalf("read back %T: %v", row, err)
	}
	if err := db.Pools()[0].Where("id = ?", id(&twin)).Take(&want).Error; err != nil {
		t.Fatalf("read back %T: %v", twin, err)
	}
	unkey(&got)
	unkey(&want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%T stored differently from pgx's:\n got %+v\nwant %+v", row, got, want)
	}
}

// TestCopyEncoder: every model the store copies is written by its own
// binary encoder exactly as pgx's CopyFrom writes the same values: NULLs,
// empty and non-ASCII text, times in another zone, with nanoseconds, before
// 1970.
func TestCopyEncoder(t *testing.T) {
	db := testenv.MustOpenDB(t, testenv.PostgresURL(t))
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	at := time.Date(2024, 2, 29, 23, 59, 59, 123456789, zone)
	before1970 := time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC)
	text := "Zoë Ångström — 山田"

	user := func(name string, dirID *string) domain.User {
		return domain.User{ID: store.NewID(), Username: name, DirectoryID: dirID, DN: "cn=" + text, GivenName: text,
			State: domain.UserActive, Source: "ldap", CreatedAt: at, UpdatedAt: before1970}
	}
	dir := "stable-1"
	u1, u2 := user("copy-1", &dir), user("copy-2", nil)
	u2.LastSyncedAt = &at
	copiedAlike(t, db, u1,
		func(u *domain.User) { u.ID, u.Username, u.DirectoryID = store.NewID(), "copy-1b", ptr("stable-1b") },
		func(u *domain.User) string { return u.ID },
		func(u *domain.User) { u.ID, u.Username, u.DirectoryID = "", "", nil })
	copiedAlike(t, db, u2,
		func(u *domain.User) { u.ID, u.Username = store.NewID(), "copy-2b" },
		func(u *domain.User) string { return u.ID },
		func(u *domain.User) { u.ID, u.Username = "", "" })

	cred := domain.Credential{ID: store.NewID(), UserID: u1.ID, Type: domain.CredentialCard, Serial: "C-1",
		State: domain.CredentialActive, CreatedAt: at, UpdatedAt: at}
	copiedAlike(t, db, cred,
		func(c *domain.Credential) { c.ID, c.Serial = store.NewID(), "C-2" },
		func(c *domain.Credential) string { return c.ID },
		func(c *domain.Credential) { c.ID, c.Serial = "", "" })

	reason := domain.ReasonCertificateHold
	cert := domain.Certificate{ID: store.NewID(), CredentialID: cred.ID, Serial: "01", Subject: "CN=" + text, Issuer: "",
		NotBefore: before1970, NotAfter: at, State: domain.CertificateOnHold, RevocationReason: &reason, RevokedAt: &at,
		CreatedAt: at, UpdatedAt: at}
	copiedAlike(t, db, cert,
		func(c *domain.Certificate) { c.ID, c.Serial = store.NewID(), "02" },
		func(c *domain.Certificate) string { return c.ID },
		func(c *domain.Certificate) { c.ID, c.Serial = "", "" })

	role := domain.Role{ID: store.NewID(), Name: "Copy role"}
	copiedAlike(t, db, role,
		func(r *domain.Role) { r.ID, r.Name = store.NewID(), "Copy role 2" },
		func(r *domain.Role) string { return r.ID },
		func(r *domain.Role) { r.ID, r.Name = "", "" })

	runID := store.NewID()
	assign := domain.RoleAssignment{ID: store.NewID(), UserID: u1.ID, RoleID: role.ID, AssignedAt: at,
		WithdrawnAt: &before1970, WithdrawnBy: &runID}
	copiedAlike(t, db, assign,
		func(a *domain.RoleAssignment) { a.ID, a.UserID = store.NewID(), u2.ID },
		func(a *domain.RoleAssignment) string { return a.ID },
		func(a *domain.RoleAssignment) { a.ID, a.UserID = "", "" })
}

// TestCopyEncoderRunItems: a run's items, with the integer sequence number
// up to the column's range, are copied as written; one beyond it is
// refused.
func TestCopyEncoderRunItems(t *testing.T) {
	ctx := context.Background()
	db := testenv.MustOpenDB(t, testenv.PostgresURL(t))
	now := db.Now()
	run := &domain.Run{ID: store.NewID(), JobKey: domain.JobActive, Trigger: domain.TriggerManual, Status: domain.RunRunning, StartedAt: now, HeartbeatAt: now}
	if err := db.CreateRun(ctx, run, time.Minute); err != nil {
		t.Fatal(err)
	}
	userID := store.NewID()
	items := []domain.RunItem{
		{RunID: run.ID, Seq: math.MaxInt32, UserID: &userID, Username: "Zoë", Outcome: domain.OutcomeCreated, Changes: `[{"field":"state"}]`},
		{RunID: run.ID, Seq: 1, Outcome: domain.OutcomeError, Error: "line\nbreak\ttab\\", DirectoryID: "d"},
	}
	if encoded, err := store.CopyRows(ctx, db, items, false); err != nil || !encoded {
		t.Fatalf("copy run items: encoded %v, %v", encoded, err)
	}
	var got []domain.RunItem
	if err := db.Pools()[0].Where("run_id = ?", run.ID).Order("seq DESC").Find(&got).Error; err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, items) {
		t.Errorf("run items read back\n got %+v\nwant %+v", got, items)
	}
	tooBig := []domain.RunItem{{RunID: run.ID, Seq: math.MaxInt32 + 1, Outcome: domain.OutcomeCreated}}
	if _, err := store.CopyRows(ctx, db, tooBig, false); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("a sequence number over the column's range: %v", err)
	}
}

// TestCopyEncoderRefusedWritesNothing: a value the column refuses fails the
// whole COPY, and none of its rows is written.
func TestCopyEncoderRefusedWritesNothing(t *testing.T) {
	ctx := context.Background()
	db := testenv.MustOpenDB(t, testenv.PostgresURL(t))
	now := db.Now()
	user := func(name string) domain.User {
		return domain.User{ID: store.NewID(), Username: name, State: domain.UserActive, Source: "ldap", CreatedAt: now, UpdatedAt: now}
	}
	// username is VARCHAR(256)
	_, err := store.CopyRows(ctx, db, []domain.User{user("copy-fine"), user(strings.Repeat("x", 257))}, false)
	if err == nil || !strings.Contains(err.Error(), "too long") {
		t.Fatalf("a username over the column's length: %v", err)
	}
	var n int64
	if err := db.Pools()[0].Model(&domain.User{}).Where("username = ?", "copy-fine").Count(&n).Error; err != nil || n != 0 {
		t.Errorf("the refused COPY wrote %d rows (%v)", n, err)
	}
}

func ptr(s string) *string { return &s }

// CopyRoleName and embeddedRole are a role as a model with an embedded
// struct (exported: GORM reads no unexported one's fields), which the
// store's encoder leaves to pgx.
type CopyRoleName struct {
	Name string `gorm:"column:name"`
}

type embeddedRole struct {
	ID string `gorm:"column:id;primaryKey"`
	CopyRoleName
	Description string `gorm:"column:description"`
}

func (embeddedRole) TableName() string { return "roles" }

// TestCopyEmbeddedByPgx: a model with an embedded struct is copied by pgx,
// whole.
func TestCopyEmbeddedByPgx(t *testing.T) {
	db := testenv.MustOpenDB(t, testenv.PostgresURL(t))
	row := embeddedRole{ID: store.NewID(), CopyRoleName: CopyRoleName{Name: "Embedded"}, Description: "through pgx"}
	encoded, err := store.CopyRows(context.Background(), db, []embeddedRole{row}, false)
	if err != nil || encoded {
		t.Fatalf("copy a model with an embedded struct: encoded %v, %v", encoded, err)
	}
	var got domain.Role
	if err := db.Pools()[0].Where("id = ?", row.ID).Take(&got).Error; err != nil || got.Name != "Embedded" || got.Description != "through pgx" {
		t.Errorf("read back %+v (%v)", got, err)
	}
}
