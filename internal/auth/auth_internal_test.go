package auth

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// The hash compared for an unknown name costs what an account's does.
func TestDummyHashCost(t *testing.T) {
	if cost, err := bcrypt.Cost([]byte(dummyHash)); err != nil || cost != bcrypt.DefaultCost {
		t.Fatalf("dummy hash cost %d (%v), want bcrypt.DefaultCost %d", cost, err, bcrypt.DefaultCost)
	}
}
