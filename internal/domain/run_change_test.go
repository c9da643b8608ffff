package domain

import "testing"

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
