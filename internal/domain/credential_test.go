package domain_test

import (
	"slices"
	"testing"
	"time"

	"idm/internal/domain"
)

// TestDeactivationEnds: a credential or certificate is outside its end
// state by DeactivationEnds exactly when DeactivationTarget and
// NextCertificateState would move it, for every type, state and validity.
func TestDeactivationEnds(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	validities := map[string]time.Time{"valid": now.Add(time.Hour), "ended": now, "long ended": now.AddDate(-1, 0, 0), "zero": {}}
	ends := domain.DeactivationEnds()
	if len(ends) != len(domain.CredentialTypes) {
		t.Fatalf("%d ends for %d credential types", len(ends), len(domain.CredentialTypes))
	}
	for _, end := range ends {
		credTarget, certTarget, err := domain.DeactivationTarget(end.Type)
		if err != nil || credTarget != end.State {
			t.Errorf("%s: end state %s, DeactivationTarget %s (%v)", end.Type, end.State, credTarget, err)
		}
		for _, st := range domain.CertificateStates {
			for name, notAfter := range validities {
				moves := domain.NextCertificateState(st, certTarget, notAfter, now) != st
				valid := notAfter.IsZero() || now.Before(notAfter)
				if listed := valid && slices.Contains(end.Moving, st); listed != moves {
					t.Errorf("%s certificate %s (%s): moves=%v, DeactivationEnds says %v", end.Type, st, name, moves, listed)
				}
			}
		}
	}
}
