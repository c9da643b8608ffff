package domain

import (
	"fmt"
	"time"
)

// CredentialType is the kind of credential issued to a person.
type CredentialType string

const (
	CredentialCard             CredentialType = "card"
	CredentialTemporaryCard    CredentialType = "temporary_card"
	CredentialVirtualSmartCard CredentialType = "virtual_smart_card"
	CredentialMobileID         CredentialType = "mobile_id"
	CredentialSoftToken        CredentialType = "soft_token"
)

// CredentialTypes lists every credential type, in the seeds' order.
var CredentialTypes = []CredentialType{
	CredentialCard, CredentialTemporaryCard, CredentialVirtualSmartCard, CredentialMobileID, CredentialSoftToken,
}

// Label is the name the product shows for the credential type.
func (t CredentialType) Label() string {
	switch t {
	case CredentialCard:
		return "Card"
	case CredentialTemporaryCard:
		return "Temporary card"
	case CredentialVirtualSmartCard:
		return "Virtual smart card"
	case CredentialMobileID:
		return "Mobile ID"
	case CredentialSoftToken:
		return "Soft token"
	}
	return string(t)
}

// Valid reports whether t is one of the known credential types.
func (t CredentialType) Valid() bool {
	for _, k := range CredentialTypes {
		if k == t {
			return true
		}
	}
	return false
}

// CredentialState is the state of a credential.
type CredentialState string

const (
	CredentialActive   CredentialState = "active"
	CredentialInactive CredentialState = "inactive"
	CredentialLocked   CredentialState = "locked"
)

// Valid reports whether s is a known credential state.
func (s CredentialState) Valid() bool {
	return s == CredentialActive || s == CredentialInactive || s == CredentialLocked
}

// CertificateState is the state of a certificate.
type CertificateState string

const (
	CertificateActive  CertificateState = "active"
	CertificateOnHold  CertificateState = "on_hold"
	CertificateRevoked CertificateState = "revoked"
	CertificateExpired CertificateState = "expired"
)

// CertificateStates lists every certificate state.
var CertificateStates = []CertificateState{CertificateActive, CertificateOnHold, CertificateRevoked, CertificateExpired}

// Valid reports whether s is a known certificate state.
func (s CertificateState) Valid() bool {
	switch s {
	case CertificateActive, CertificateOnHold, CertificateRevoked, CertificateExpired:
		return true
	}
	return false
}

// Label is the name the product shows for the certificate state.
func (s CertificateState) Label() string {
	if s == CertificateOnHold {
		return "on hold"
	}
	return string(s)
}

// Credential is a credential issued to a user; it stays linked to the user
// whatever its state.
type Credential struct {
	ID        string          `gorm:"column:id;primaryKey"`
	UserID    string          `gorm:"column:user_id"`
	Type      CredentialType  `gorm:"column:type"`
	Serial    string          `gorm:"column:serial"`
	State     CredentialState `gorm:"column:state"`
	CreatedAt time.Time       `gorm:"column:created_at"`
	UpdatedAt time.Time       `gorm:"column:updated_at"`
}

func (Credential) TableName() string { return "credentials" }

// Certificate is a certificate held on a credential.
type Certificate struct {
	ID               string           `gorm:"column:id;primaryKey"`
	CredentialID     string           `gorm:"column:credential_id"`
	Serial           string           `gorm:"column:serial"`
	Subject          string           `gorm:"column:subject"`
	Issuer           string           `gorm:"column:issuer"`
	NotBefore        time.Time        `gorm:"column:not_before"`
	NotAfter         time.Time        `gorm:"column:not_after"`
	State            CertificateState `gorm:"column:state"`
	RevocationReason *string          `gorm:"column:revocation_reason"`
	RevokedAt        *time.Time       `gorm:"column:revoked_at"`
	CreatedAt        time.Time        `gorm:"column:created_at"`
	UpdatedAt        time.Time        `gorm:"column:updated_at"`
}

func (Certificate) TableName() string { return "certificates" }

// Revocation reasons recorded by the inactive job (RFC 5280 names).
const (
	ReasonCertificateHold      = "certificateHold"
	ReasonCessationOfOperation = "cessationOfOperation"
)

// DeactivationTarget gives the end states the inactive job sets for a
// credential of type t and for its certificates (the seeds' table).
func DeactivationTarget(t CredentialType) (CredentialState, CertificateState, error) {
	switch t {
	case CredentialCard, CredentialVirtualSmartCard, CredentialMobileID, CredentialSoftToken:
		return CredentialInactive, CertificateOnHold, nil
	case CredentialTemporaryCard:
		return CredentialLocked, CertificateRevoked, nil
	}
	return "", "", fmt.Errorf("unknown credential type %q", t)
}

// NextCertificateState gives the state a certificate in state current, valid
// until notAfter, takes when its credential is deactivated towards target.
// Revocation is final and an expired certificate keeps its state, so neither
// moves; a certificate on hold may still be revoked.
func NextCertificateState(current, target CertificateState, notAfter, now time.Time) CertificateState {
	switch {
	case current == CertificateRevoked, current == CertificateExpired:
		return current
	case !notAfter.IsZero() && !now.Before(notAfter):
		return current
	case current == CertificateOnHold && target == CertificateOnHold:
		return current
	}
	return target
}

// DeactivationEnd is where the inactive job leaves a credential of Type:
// in State, with each of its certificates that is still valid moved out of
// the states Moving (a certificate past its validity keeps its state).
type DeactivationEnd struct {
	Type   CredentialType
	State  CredentialState
	Moving []CertificateState
}

// DeactivationEnds lists the end of every credential type, as
// DeactivationTarget and NextCertificateState decide it: what a query
// looks for to tell, without loading them, whether a user still holds
// something the inactive job would change.
func DeactivationEnds() []DeactivationEnd {
	out := make([]DeactivationEnd, 0, len(CredentialTypes))
	for _, t := range CredentialTypes {
		cred, cert, _ := DeactivationTarget(t)
		e := DeactivationEnd{Type: t, State: cred}
		for _, s := range CertificateStates {
			// A zero notAfter stands for a certificate still valid.
			if NextCertificateState(s, cert, time.Time{}, time.Time{}) != s {
				e.Moving = append(e.Moving, s)
			}
		}
		out = append(out, e)
	}
	return out
}
