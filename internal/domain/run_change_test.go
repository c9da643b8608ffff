package domain

import (
	"strings"
	"testing"
)

func TestKindOfChange(t *testing.T) {
	for _, tc := range []struct {
		field string
		kind  ChangeKind
		rest  string
	}{
		{"state", ChangeState, "state"},
		{"source", ChangeSource, "source"},
		{"given_name", ChangeField, "given_name"},
		{"credential Temporary card T-1", ChangeCredential, "Temporary card T-1"},
		{"certificate 99 (Card C-1)", ChangeCertificate, "99 (Card C-1)"},
		{"role Approver", ChangeRole, "Approver"},
	} {
		if kind, rest := KindOfChange(tc.field); kind != tc.kind || rest != tc.rest {
			t.Errorf("KindOfChange(%q) = %v, %q; want %v, %q", tc.field, kind, rest, tc.kind, tc.rest)
		}
	}
}

func TestLabels(t *testing.T) {
	for in, want := range map[string]string{"given_name": "Given name", "dn": "Distinguished name", "employee_number": "Employee number", "directory_id": "Directory ID", "email": "Email"} {
		if got := FieldLabel(in); got != want {
			t.Errorf("FieldLabel(%q) = %q, want %q", in, got, want)
		}
	}
	if got := StateLabel(string(CertificateOnHold)); got != "on hold" {
		t.Errorf("StateLabel(on_hold) = %q", got)
	}
	if got := CredentialChangePrefix(CredentialTemporaryCard); got != "credential Temporary card " {
		t.Errorf("CredentialChangePrefix = %q", got)
	}
}

// TestChangeFieldsReadBack holds the constructors the engine writes with to
// the readers: KindOfChange (the run page) and the prefix and mark the store
// counts each credential type by, which must match a field of their own
// type once and no other type's field.
func TestChangeFieldsReadBack(t *testing.T) {
	for _, typ := range CredentialTypes {
		for _, tc := range []struct {
			name    string
			field   string
			kind    ChangeKind
			rest    string
			pattern func(CredentialType) string
		}{
			{"Credential", CredentialChangeField(typ, "C-1"), ChangeCredential, typ.Label() + " C-1", CredentialChangePrefix},
			{"Certificate", CertificateChangeField("99", typ, "C-1"), ChangeCertificate, "99 (" + typ.Label() + " C-1)", CertificateChangeMark},
		} {
			t.Run(string(typ)+"/"+tc.name, func(t *testing.T) {
				if kind, rest := KindOfChange(tc.field); kind != tc.kind || rest != tc.rest {
					t.Errorf("KindOfChange(%q) = %v, %q; want %v, %q", tc.field, kind, rest, tc.kind, tc.rest)
				}
				for _, other := range CredentialTypes {
					want := 0
					if other == typ {
						want = 1
					}
					if n := strings.Count(tc.field, tc.pattern(other)); n != want {
						t.Errorf("%q holds %q %d times, want %d", tc.field, tc.pattern(other), n, want)
					}
				}
			})
		}
	}
	if kind, rest := KindOfChange(RoleChangeField("Approver")); kind != ChangeRole || rest != "Approver" {
		t.Errorf("KindOfChange(RoleChangeField) = %v, %q", kind, rest)
	}
}
