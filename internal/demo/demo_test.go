package demo

import (
	"context"
	"crypto/rand"
	"log/slog"
	"testing"
	"time"

	"idm/internal/domain"
	"idm/internal/engine"
	"idm/internal/secret"
	"idm/internal/store"
	"idm/internal/testenv"
)

// demoEnv is a fresh SQLite store with the demo set up on it.
type demoEnv struct {
	db  *store.DB
	box *secret.Box
	eng *engine.Engine
	d   *Demo
}

// newDemoEnv's directory waits pageDelay before each page (see setup).
func newDemoEnv(t *testing.T, pageDelay time.Duration) *demoEnv {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	box, err := secret.New(key)
	if err != nil {
		t.Fatal(err)
	}
	db := testenv.MustOpenDB(t, testenv.SQLiteURL(t))
	env := &demoEnv{db: db, box: box}
	env.setup(t, pageDelay)
	env.eng = engine.New(engine.Deps{
		DB: db, Dial: engine.DialDirectory, OpenSecret: box.Open, Instance: "demo-test",
		Logger: slog.New(slog.DiscardHandler),
	})
	return env
}

// setup runs Setup as a start of the server does, with a directory that
// waits pageDelay before each page (0 but in TestRunNowProgressMoves, the
// one that watches a run), and stops the directory when the test ends.
func (env *demoEnv) setup(t *testing.T, pageDelay time.Duration) {
	t.Helper()
	d, err := setup(context.Background(), env.db, env.box, slog.New(slog.DiscardHandler), "127.0.0.1:0", pageDelay)
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	env.d = d
}

func (env *demoEnv) run(t *testing.T, key domain.JobKey) domain.RunCounts {
	t.Helper()
	r, err := env.eng.Run(context.Background(), key, engine.RunOptions{Trigger: domain.TriggerManual, By: "demo-test"})
	if err != nil {
		t.Fatalf("run %s: %v", key, err)
	}
	if r.Status != domain.RunSucceeded {
		t.Fatalf("run %s ended %s: %s", key, r.Status, r.Message)
	}
	return r.RunCounts
}

// lockedPeople are the usernames the demo directory locks.
func lockedPeople() map[string]bool {
	locked := map[string]bool{}
	for _, e := range SampleDirectory(DemoBaseDN, DemoPeople, DemoSeed) {
		if len(e.Get("pwdAccountLockedTime")) > 0 {
			locked[e.Get("uid")[0]] = true
		}
	}
	return locked
}

// sampleFigures counts what SampleHoldings gives the demo directory.
func sampleFigures() (holders, lockedHolders int) {
	locked := lockedPeople()
	for _, r := range SampleHoldings(SampleDirectory(DemoBaseDN, DemoPeople, DemoSeed), time.Now()) {
		holders++
		if locked[r.Username] {
			lockedHolders++
		}
	}
	return holders, lockedHolders
}

func TestSampleHoldings(t *testing.T) {
	entries := SampleDirectory(DemoBaseDN, DemoPeople, DemoSeed)
	now := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	records := SampleHoldings(entries, now)
	holders, lockedHolders := sampleFigures()
	locked := lockedPeople()
	if lockedHolders < 26 || lockedHolders > 49 {
		t.Errorf("%d of the 50 locked people hold something; want most but not all", lockedHolders)
	}
	// The inactive job must fit in the default limit (10% of active users)
	// even when it runs before the active job.
	if lockedHolders > holders*domain.DefaultLDAPSettings().DeactivateMaxPercent/100 {
		t.Errorf("%d locked holders exceed the default deactivation limit for %d active users", lockedHolders, holders)
	}
	types, lockedTypes := map[domain.CredentialType]int{}, map[domain.CredentialType]int{}
	certStates := map[domain.CertificateState]int{}
	roles := map[string]int{}
	serials := map[string]bool{}
	for _, r := range records {
		if r.Source != domain.SourceLDAP || r.State != domain.UserActive || r.DirectoryID == nil || *r.DirectoryID == "" {
			t.Fatalf("%s: source %q state %q directory id %v; want as a previous sync left it", r.Username, r.Source, r.State, r.DirectoryID)
		}
		if len(r.Credentials) == 0 || len(r.Roles) == 0 {
			t.Fatalf("%s holds %d credentials and %d roles", r.Username, len(r.Credentials), len(r.Roles))
		}
		for _, c := range r.Credentials {
			types[c.Type]++
			if locked[r.Username] {
				lockedTypes[c.Type]++
			}
			if n := len(c.Certificates); n < 1 || n > 2 {
				t.Errorf("%s: credential %s has %d certificates, want one or two", r.Username, c.Serial, n)
			}
			if serials[string(c.Type)+c.Serial] {
				t.Errorf("credential serial %s repeats", c.Serial)
			}
			serials[string(c.Type)+c.Serial] = true
			for _, cert := range c.Certificates {
				certStates[cert.State]++
				if serials[cert.Issuer+cert.Serial] {
					t.Errorf("certificate serial %s repeats", cert.Serial)
				}
				serials[cert.Issuer+cert.Serial] = true
				if cert.State == domain.CertificateExpired && cert.NotAfter.After(now) {
					t.Errorf("certificate %s is expired but valid until %s", cert.Serial, cert.NotAfter)
				}
			}
		}
		for _, ro := range r.Roles {
			roles[ro.RoleName]++
		}
	}
	for _, ty := range domain.CredentialTypes {
		if types[ty] < 20 {
			t.Errorf("%d credentials of type %s; want every type well represented", types[ty], ty)
		}
		// The inactive job shows the seeds' whole table: every type among
		// the people it deactivates.
		if lockedTypes[ty] < 5 {
			t.Errorf("locked people hold %d credentials of type %s; want every type among them", lockedTypes[ty], ty)
		}
	}
	if certStates[domain.CertificateRevoked] == 0 || certStates[domain.CertificateExpired] == 0 ||
		certStates[domain.CertificateActive] < certStates[domain.CertificateRevoked]+certStates[domain.CertificateExpired] {
		t.Errorf("certificate states %v; want mostly active, some revoked, a few expired", certStates)
	}
	for _, name := range []string{"Employee", "VPN user", "Building access", "Finance approver"} {
		if roles[name] == 0 {
			t.Errorf("no one holds role %q", name)
		}
	}
	again := SampleHoldings(entries, now)
	if len(again) != len(records) || again[7].Credentials[0].Certificates[0].Serial != records[7].Credentials[0].Certificates[0].Serial {
		t.Errorf("SampleHoldings is not the same for the same entries")
	}
}

func TestSetup(t *testing.T) {
	holders, lockedHolders := sampleFigures()

	t.Run("JobsChangeUsersThenNothing", func(t *testing.T) {
		t.Parallel()
		env := newDemoEnv(t, 0)
		ctx := context.Background()
		if env.d.Loaded != holders {
			t.Fatalf("loaded %d sample users, want %d", env.d.Loaded, holders)
		}
		s, err := env.db.LDAPSettings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s.URL != env.d.URL || s.BindDN != DemoBindDN || s.BindPasswordEnc == "" {
			t.Fatalf("settings url %q bind %q sealed password set %t; want the demo directory", s.URL, s.BindDN, s.BindPasswordEnc != "")
		}

		c := env.run(t, domain.JobActive)
		if c.Read != 450 || c.Created+c.Updated != 450 || c.Created == 0 || c.Updated == 0 || c.Errors != 0 {
			t.Fatalf("first active run: %+v; want 450 created or updated, some of each", c)
		}
		c = env.run(t, domain.JobActive)
		if c.Created != 0 || c.Updated != 0 || c.Unchanged != 450 {
			t.Fatalf("second active run: %+v; want nothing changed", c)
		}

		before := map[string]*store.UserDetail{}
		for _, r := range SampleHoldings(SampleDirectory(DemoBaseDN, DemoPeople, DemoSeed), time.Now()) {
			u, err := env.db.UserByUsername(ctx, r.Username)
			if err != nil {
				t.Fatal(err)
			}
			before[r.Username] = u
		}
		c = env.run(t, domain.JobInactive)
		if c.Read != 50 || c.Deactivated != lockedHolders || c.Created != 50-lockedHolders ||
			c.CredentialsChanged == 0 || c.CertificatesOnHold == 0 || c.CertificatesRevoked == 0 || c.RolesWithdrawn == 0 {
			t.Fatalf("inactive run: %+v; want the %d locked holders deactivated, the rest created", c, lockedHolders)
		}
		assertDeactivated(t, env.db, before)
		c = env.run(t, domain.JobInactive)
		if c.Deactivated != 0 || c.Created != 0 || c.Unchanged != 50 {
			t.Fatalf("second inactive run: %+v; want nothing changed", c)
		}

		// A restart moves the directory and its password, and leaves the
		// users as the jobs made them.
		oldURL := env.d.URL
		if err := env.d.Close(); err != nil {
			t.Fatal(err)
		}
		env.setup(t, 0)
		if env.d.Loaded != 0 {
			t.Errorf("second start loaded %d users, want 0", env.d.Loaded)
		}
		if env.d.URL == oldURL {
			t.Logf("the directory came back on the same port %s", oldURL)
		}
		if c := env.run(t, domain.JobInactive); c.Deactivated != 0 || c.Unchanged != 50 {
			t.Errorf("inactive run after a restart: %+v; want nothing changed", c)
		}
		if c := env.run(t, domain.JobActive); c.Created != 0 || c.Updated != 0 || c.Unchanged != 450 {
			t.Errorf("active run after a restart: %+v; want nothing changed", c)
		}
	})

	t.Run("InactiveFirstPassesTheDefaultLimit", func(t *testing.T) {
		t.Parallel()
		env := newDemoEnv(t, 0)
		c := env.run(t, domain.JobInactive)
		if c.Deactivated != lockedHolders {
			t.Fatalf("inactive run first: %+v; want %d deactivated", c, lockedHolders)
		}
	})
}

// assertDeactivated checks the end states of DESIGN.md §2 for every sample
// user the directory locks, against what they held before the run.
func assertDeactivated(t *testing.T, db *store.DB, before map[string]*store.UserDetail) {
	t.Helper()
	ctx := context.Background()
	checked := 0
	types := map[domain.CredentialType]bool{}
	for _, e := range SampleDirectory(DemoBaseDN, DemoPeople, DemoSeed) {
		if len(e.Get("pwdAccountLockedTime")) == 0 {
			continue
		}
		old := before[e.Get("uid")[0]]
		if old == nil {
			continue
		}
		u, err := db.UserByUsername(ctx, old.Username)
		if err != nil {
			t.Fatal(err)
		}
		testenv.WantDeactivated(t, u, len(old.Credentials))
		for i, c := range u.Credentials {
			_, certTarget, _ := domain.DeactivationTarget(c.Type)
			types[c.Type] = true
			for j, cert := range c.Certificates {
				was := old.Credentials[i].Certificates[j]
				want := certTarget
				if was.State == domain.CertificateRevoked || was.State == domain.CertificateExpired {
					want = was.State
				}
				if cert.State != want {
					t.Errorf("%s: certificate %s on %s went %s → %s, want %s", u.Username, cert.Serial, c.Type, was.State, cert.State, want)
				}
			}
		}
		for _, r := range u.Roles {
			if r.WithdrawnAt == nil {
				t.Errorf("%s: role %s still assigned", u.Username, r.RoleName)
			}
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no locked sample user was checked")
	}
	for _, ty := range domain.CredentialTypes {
		if !types[ty] {
			t.Errorf("no deactivated user held a %s: the demo does not show the seeds' whole table", ty.Label())
		}
	}
}

// TestRunNowProgressMoves watches a Run now of the active job in the demo
// as the Operator's Batch jobs page does, once a second: the entries read
// and written go up while it runs, not only at its end. The demo
// directory's DemoPageDelay makes a run last long enough to see that.
func TestRunNowProgressMoves(t *testing.T) {
	env := newDemoEnv(t, DemoPageDelay)
	h, err := env.eng.Start(context.Background(), domain.JobActive, engine.RunOptions{Trigger: domain.TriggerManual, By: "demo-test"})
	if err != nil {
		t.Fatal(err)
	}
	type view struct{ read, written int }
	var seen []view
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for running := true; running; {
		select {
		case <-h.Done():
			running = false
		case <-tick.C:
			if r, ok := env.eng.Status(domain.JobActive); ok {
				seen = append(seen, view{r.Read, r.Created + r.Updated})
			}
		}
	}
	final, err := h.Wait()
	if err != nil || final.Status != domain.RunSucceeded {
		t.Fatalf("run: %v %+v", err, final)
	}
	reads, writes := map[int]bool{}, map[int]bool{}
	for _, v := range seen {
		if v.read > 0 && v.read < final.Read {
			reads[v.read] = true
		}
		if v.written > 0 && v.written < final.Created+final.Updated {
			writes[v.written] = true
		}
	}
	if len(reads) < 3 || len(writes) < 3 {
		t.Fatalf("the page saw %+v while %d entries were read: want the read and written figures to move at least three times", seen, final.Read)
	}
}
