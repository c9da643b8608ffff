package engine

import (
	"testing"
	"time"

	"idm/internal/domain"
	"idm/internal/store"
)

// TestDeactivateTransitions checks the inactive job's change for every
// credential type and every certificate state of the seeds' table.
func TestDeactivateTransitions(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	future, past := now.AddDate(1, 0, 0), now.AddDate(0, 0, -1)
	certCases := []struct {
		name     string
		state    domain.CertificateState
		notAfter time.Time
		// want gives the end state for a target of on_hold and of revoked.
		wantHold, wantRevoke domain.CertificateState
	}{
		{"Active", domain.CertificateActive, future, domain.CertificateOnHold, domain.CertificateRevoked},
		{"OnHold", domain.CertificateOnHold, future, domain.CertificateOnHold, domain.CertificateRevoked},
		{"RevokedStaysRevoked", domain.CertificateRevoked, future, domain.CertificateRevoked, domain.CertificateRevoked},
		{"ExpiredKeepsState", domain.CertificateExpired, past, domain.CertificateExpired, domain.CertificateExpired},
		{"PastNotAfterKeepsState", domain.CertificateActive, past, domain.CertificateActive, domain.CertificateActive},
	}
	credEnd := map[domain.CredentialType]domain.CredentialState{
		domain.CredentialCard: domain.CredentialInactive, domain.CredentialTemporaryCard: domain.CredentialLocked,
		domain.CredentialVirtualSmartCard: domain.CredentialInactive, domain.CredentialMobileID: domain.CredentialInactive,
		domain.CredentialSoftToken: domain.CredentialInactive,
	}
	for _, ct := range domain.CredentialTypes {
		for _, cc := range certCases {
			t.Run(string(ct)+"/"+cc.name, func(t *testing.T) {
				s := newSession(nil, domain.JobInactive, "run-1", false, now)
				u := &domain.User{ID: "u1", Username: "dave", DN: "uid=dave", State: domain.UserActive, Source: domain.SourceLDAP}
				h := &store.Holdings{
					Credentials: []store.CredentialDetail{{
						Credential:   domain.Credential{ID: "c1", Type: ct, Serial: "S1", State: domain.CredentialActive},
						Certificates: []domain.Certificate{{ID: "k1", Serial: "01", State: cc.state, NotAfter: cc.notAfter}},
					}},
					Roles: []store.RoleDetail{{RoleAssignment: domain.RoleAssignment{ID: "r1"}, RoleName: "Employee"}},
				}
				pl, ok, err := s.deactivate(u, domain.Person{Username: "dave", DN: "uid=dave"}, h)
				if err != nil || !ok {
					t.Fatalf("deactivate: ok=%v err=%v", ok, err)
				}
				ch := pl.change
				if got := ch.UserFields["state"]; got != domain.UserInactive {
					t.Errorf("user state = %v, want inactive", got)
				}
				if len(ch.Credentials) != 1 || ch.Credentials[0].State != credEnd[ct] {
					t.Errorf("credential change = %+v, want %s", ch.Credentials, credEnd[ct])
				}
				want := cc.wantHold
				if ct == domain.CredentialTemporaryCard {
					want = cc.wantRevoke
				}
				wantCertificateChange(t, ch.Certificates, cc.state, want, now)
				if len(ch.WithdrawRoles) != 1 || ch.WithdrawRoles[0] != "r1" {
					t.Errorf("roles withdrawn = %v, want [r1]", ch.WithdrawRoles)
				}
				if ch.Item == nil || ch.Item.Outcome != domain.OutcomeDeactivated || pl.counts.Deactivated != 1 {
					t.Errorf("item %+v counts %+v", ch.Item, pl.counts)
				}
			})
		}
	}
	t.Run("AlreadyAtEndStateUnchanged", func(t *testing.T) {
		s := newSession(nil, domain.JobInactive, "run-1", false, now)
		u := &domain.User{ID: "u1", Username: "dave", DN: "uid=dave", State: domain.UserInactive, Source: domain.SourceLDAP}
		h := &store.Holdings{Credentials: []store.CredentialDetail{{
			Credential:   domain.Credential{ID: "c1", Type: domain.CredentialTemporaryCard, Serial: "T1", State: domain.CredentialLocked},
			Certificates: []domain.Certificate{{ID: "k1", State: domain.CertificateRevoked, NotAfter: future}},
		}}}
		if _, ok, err := s.deactivate(u, domain.Person{Username: "dave", DN: "uid=dave"}, h); ok || err != nil {
			t.Fatalf("deactivate: ok=%v err=%v, want no change", ok, err)
		}
	})
	t.Run("ErrUnknownCredentialType", func(t *testing.T) {
		s := newSession(nil, domain.JobInactive, "run-1", false, now)
		u := &domain.User{ID: "u1", Username: "dave", State: domain.UserActive, Source: domain.SourceLDAP}
		h := &store.Holdings{Credentials: []store.CredentialDetail{{Credential: domain.Credential{ID: "c1", Type: "badge", State: domain.CredentialActive}}}}
		if _, _, err := s.deactivate(u, domain.Person{Username: "dave"}, h); err == nil {
			t.Fatal("deactivate accepted an unknown credential type")
		}
	})
}

// wantCertificateChange checks the change of a certificate in state from to
// want at now: none when it stays, else the state with its reason (and
// revocation time).
func wantCertificateChange(t *testing.T, changes []store.CertificateChange, from, want domain.CertificateState, now time.Time) {
	t.Helper()
	if want == from {
		if len(changes) != 0 {
			t.Errorf("certificate changed to %+v, want it left %s", changes, from)
		}
		return
	}
	if len(changes) != 1 || changes[0].State != want {
		t.Fatalf("certificate change = %+v, want %s", changes, want)
	}
	c := changes[0]
	switch want {
	case domain.CertificateRevoked:
		if c.Reason == nil || *c.Reason != domain.ReasonCessationOfOperation || c.RevokedAt == nil || !c.RevokedAt.Equal(now) {
			t.Errorf("revoked certificate: reason %v revoked_at %v", c.Reason, c.RevokedAt)
		}
	case domain.CertificateOnHold:
		if c.Reason == nil || *c.Reason != domain.ReasonCertificateHold {
			t.Errorf("certificate on hold: reason %v", c.Reason)
		}
	}
}
