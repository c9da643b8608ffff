package store_test

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm/schema"

	"idm/internal/domain"
	"idm/internal/store"
	"idm/internal/testenv"
)

// TestScanUsers: the user look-ups, which scan rows themselves, read every
// column of domain.User and give what GORM's own read of the same rows
// gives, NULLs, non-ASCII text and fractional seconds included.
func TestScanUsers(t *testing.T) {
	s, err := schema.Parse(&domain.User{}, &sync.Map{}, schema.NamingStrategy{})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range s.Fields {
		want = append(want, f.DBName)
	}
	if got := strings.Split(store.UserColumns, ", "); !reflect.DeepEqual(got, want) {
		t.Fatalf("the look-ups read the columns\n%v\ndomain.User has\n%v", got, want)
	}

	testenv.EachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := testenv.MustOpenDB(t, url)
		synced := time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)
		full := newUser("zoë", "dir-full")
		full.DN, full.GivenName, full.Surname, full.DisplayName = "uid=zoë,ou=people,dc=example,dc=org", "Zoë", "Ørsted", "Zoë Ørsted"
		full.Email, full.Phone, full.Title, full.Department, full.EmployeeNumber = "zoe@example.org", "+45 1234", "Engineer", "R&D", "00042"
		full.State, full.Source, full.LastSyncedAt = domain.UserInactive, domain.SourceLDAP, &synced
		full.CreatedAt, full.UpdatedAt = synced.Add(-time.Hour), synced
		bare := newUser("bare", "")
		bare.Source = "manual"
		if _, err := db.ApplyChanges(ctx, []*store.UserChange{{Create: full}, {Create: bare}}, db.Now(), ""); err != nil {
			t.Fatal(err)
		}

		got, err := db.UsersByIDs(ctx, []string{full.ID, bare.ID, "no-such-id"})
		if err != nil {
			t.Fatal(err)
		}
		var stored []domain.User
		if err := db.Pools()[0].WithContext(ctx).Where("id IN ?", []string{full.ID, bare.ID}).Find(&stored).Error; err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || len(stored) != 2 {
			t.Fatalf("read %d users, GORM %d: want both", len(got), len(stored))
		}
		for i := range stored {
			if g := got[stored[i].ID]; !reflect.DeepEqual(*g, stored[i]) {
				t.Errorf("the look-up read\n%+v\nGORM reads\n%+v", *g, stored[i])
			}
		}
		if g := got[full.ID]; g.DirectoryID == nil || *g.DirectoryID != "dir-full" || g.LastSyncedAt == nil || !g.LastSyncedAt.Equal(synced) || g.Surname != "Ørsted" {
			t.Errorf("full user read as %+v", *g)
		}
		if g := got[bare.ID]; g.DirectoryID != nil || g.LastSyncedAt != nil || g.Source != "manual" {
			t.Errorf("bare user read as %+v: want no directory id, never synced, source manual", *g)
		}
	})
}
