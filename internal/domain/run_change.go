package domain

import "strings"

// ChangeKind is what one change of a run item is about, read from its field
// name as the engine writes it: "state", a mapped field ("given_name"),
// "credential Card 1234", "certificate 99 (Card 1234)", "role Approver".
type ChangeKind int

const (
	ChangeField ChangeKind = iota
	ChangeState
	ChangeSource
	ChangeCredential
	ChangeCertificate
	ChangeRole
)

const (
	credentialChange  = "credential "
	certificateChange = "certificate "
	roleChange        = "role "
)

// KindOfChange says what field is about, and the rest of its name: the
// credential, certificate or role it names, or the field itself.
func KindOfChange(field string) (ChangeKind, string) {
	switch {
	case field == "state":
		return ChangeState, field
	case field == "source":
		return ChangeSource, field
	case strings.HasPrefix(field, credentialChange):
		return ChangeCredential, field[len(credentialChange):]
	case strings.HasPrefix(field, certificateChange):
		return ChangeCertificate, field[len(certificateChange):]
	case strings.HasPrefix(field, roleChange):
		return ChangeRole, field[len(roleChange):]
	}
	return ChangeField, field
}

// CredentialChangeField is the field of a change to the credential of type
// t with serial: "credential Card C-1". It begins with
// CredentialChangePrefix(t), which the store counts by.
func CredentialChangeField(t CredentialType, serial string) string {
	return CredentialChangePrefix(t) + serial
}

// CertificateChangeField is the field of a change to the certificate
// certSerial held on the credential of type t with serial credSerial:
// "certificate 99 (Card C-1)". It holds CertificateChangeMark(t) after the
// certificate's serial, which the store counts by.
func CertificateChangeField(certSerial string, t CredentialType, credSerial string) string {
	return certificateChange + certSerial + CertificateChangeMark(t) + credSerial + ")"
}

// RoleChangeField is the field of a change to the assignment of role name:
// "role Approver".
func RoleChangeField(name string) string { return roleChange + name }

// CredentialChangePrefix is how the field of a change to a credential of
// type t begins.
func CredentialChangePrefix(t CredentialType) string { return credentialChange + t.Label() + " " }

// CertificateChangeMark is what the field of a change to a certificate held
// on a credential of type t holds after the certificate's serial.
func CertificateChangeMark(t CredentialType) string { return " (" + t.Label() + " " }

// FieldLabel names a mapped field as people read it: "given_name" is
// "Given name", "dn" "Distinguished name".
func FieldLabel(field string) string {
	switch field {
	case "dn":
		return "Distinguished name"
	case "directory_id":
		return "Directory ID"
	case "email":
		return "Email"
	}
	s := strings.ReplaceAll(field, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// StateLabel is a state (of a user, credential, certificate or role
// assignment) as people read it: "on_hold" is "on hold".
func StateLabel(state string) string { return strings.ReplaceAll(state, "_", " ") }
