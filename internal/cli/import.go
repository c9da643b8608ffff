package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"idm/internal/domain"
	"idm/internal/store"
)

// userRecord is one user in the import and export format (JSON lines, see
// docs/import-format.md). The fields marked "export only" are written by
// export and user show, and ignored by import.
type userRecord struct {
	ID             string             `json:"id,omitempty"` // export only
	Username       string             `json:"username"`
	DirectoryID    string             `json:"directory_id,omitempty"`
	DN             string             `json:"dn,omitempty"`
	GivenName      string             `json:"given_name,omitempty"`
	Surname        string             `json:"surname,omitempty"`
	DisplayName    string             `json:"display_name,omitempty"`
	Email          string             `json:"email,omitempty"`
	Phone          string             `json:"phone,omitempty"`
	Title          string             `json:"title,omitempty"`
	Department     string             `json:"department,omitempty"`
	EmployeeNumber string             `json:"employee_number,omitempty"`
	State          string             `json:"state,omitempty"`
	Source         string             `json:"source,omitempty"`
	Credentials    []credentialRecord `json:"credentials,omitempty"`
	Roles          []string           `json:"roles,omitempty"`
	WithdrawnRoles []withdrawnRole    `json:"withdrawn_roles,omitempty"` // export only
	CreatedAt      *time.Time         `json:"created_at,omitempty"`      // export only
	UpdatedAt      *time.Time         `json:"updated_at,omitempty"`      // export only
	LastSyncedAt   *time.Time         `json:"last_synced_at,omitempty"`  // export only
}

type credentialRecord struct {
	Type         string              `json:"type"`
	Serial       string              `json:"serial"`
	State        string              `json:"state"`
	Certificates []certificateRecord `json:"certificates,omitempty"`
}

type certificateRecord struct {
	Serial           string     `json:"serial"`
	Subject          string     `json:"subject,omitempty"`
	Issuer           string     `json:"issuer"`
	NotBefore        time.Time  `json:"not_before"`
	NotAfter         time.Time  `json:"not_after"`
	State            string     `json:"state"`
	RevocationReason string     `json:"revocation_reason,omitempty"`
	RevokedAt        *time.Time `json:"revoked_at,omitempty"`
}

type withdrawnRole struct {
	Name        string     `json:"name"`
	WithdrawnAt *time.Time `json:"withdrawn_at,omitempty"`
	WithdrawnBy string     `json:"withdrawn_by,omitempty"`
}

const importUsage = "usage: idm import FILE   (JSON lines: one user per line; see docs/import-format.md; - reads standard input)"

func runImport(ctx context.Context, io IO, args []string) error {
	s := newSetup("import", io)
	pos, err := s.parseInterspersed(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintln(io.Stderr, importUsage)
		return fmt.Errorf("%w: import needs one file", ErrUsage)
	}
	name := pos[0]
	in := io.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer f.Close()
		in = f
	}
	return s.withStore(ctx, func(db *store.DB) error { return importRecords(ctx, io, db, name, in) })
}

// parseUserRecord decodes and checks one line of the import format with
// the domain's rules for each part. Every message names the field at fault,
// so that the line number and the message together say exactly what to fix.
func parseUserRecord(line []byte) (store.UserDetail, error) {
	r, err := decodeUserRecord(line)
	if err != nil {
		return store.UserDetail{}, err
	}
	d, err := r.user()
	if err != nil {
		return store.UserDetail{}, err
	}
	if d.Credentials, err = r.credentials(); err != nil {
		return store.UserDetail{}, err
	}
	if d.Roles, err = r.roles(); err != nil {
		return store.UserDetail{}, err
	}
	return d, nil
}

// decodeUserRecord reads one JSON value of the format from a line that must
// be UTF-8 (the decoder would replace other bytes silently).
//
// The record is decoded with the JSON v2 decoder (go-json-experiment/json,
// the implementation of Go's encoding/json/v2): it reads the line once,
// where encoding/json's Decoder scanned it whole before decoding it again;
// decoding was a third of the import's client CPU (docs/benchmarks.md). Field
// names match regardless of case, as encoding/json matched them; a field
// given twice, in any case, is refused rather than silently taking the
// last value.
func decodeUserRecord(line []byte) (userRecord, error) {
	var r userRecord
	if err := domain.CheckRecordText(line); err != nil {
		return r, err
	}
	if err := json.Unmarshal(line, &r, recordJSON); err != nil {
		return r, domain.Errorf(domain.EINVALID, "%s", jsonProblem(line, err))
	}
	return r, nil
}

// recordJSON are the decoding options of a record.
var recordJSON = json.JoinOptions(json.RejectUnknownMembers(true), json.MatchCaseInsensitiveNames(true))

// jsonProblem words a decoding error of line for the person who wrote the
// file: what is wrong, and at which field (credentials[0].serial) or byte,
// without Go type names.
func jsonProblem(line []byte, err error) string {
	var syn *jsontext.SyntacticError
	var sem *json.SemanticError
	var badTime *time.ParseError
	switch {
	case errors.As(err, &syn) && syn.ByteOffset > 0 && jsontext.Value(line[:syn.ByteOffset]).IsValid():
		return "more than one JSON value on the line; put one user per line"
	case errors.As(err, &syn) && errors.Is(syn.Err, jsontext.ErrDuplicateName):
		return fmt.Sprintf("not a valid user record: field %s is given twice", fieldPath(syn.JSONPointer))
	case errors.As(err, &syn):
		return fmt.Sprintf("not a valid user record: JSON syntax error at byte %d%s: %v", syn.ByteOffset+1, inField(syn.JSONPointer), syn.Err)
	case errors.As(err, &sem) && errors.Is(sem.Err, json.ErrUnknownName):
		return fmt.Sprintf("not a valid user record: unknown field %q%s", sem.JSONPointer.LastToken(), inField(sem.JSONPointer.Parent()))
	case errors.As(err, &sem) && sem.JSONPointer == "":
		return "not a valid user record: a record is one JSON object, {\"username\": ...}"
	case errors.As(err, &sem) && errors.As(sem.Err, &badTime):
		return fmt.Sprintf("not a valid user record: field %s: %q is not a time in RFC 3339 form, such as 2026-01-31T12:00:00Z",
			fieldPath(sem.JSONPointer), badTime.Value)
	case errors.As(err, &sem):
		return fmt.Sprintf("not a valid user record: field %s has the wrong type (%s)", fieldPath(sem.JSONPointer), jsonKind(sem.JSONKind))
	}
	return "not a valid user record: " + err.Error()
}

// fieldPath writes a JSON pointer as the record's messages name fields:
// /credentials/0/serial is credentials[0].serial.
func fieldPath(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if _, err := strconv.Atoi(tok); err == nil && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

// inField is " in credentials[0]" for a pointer into the record, "" for the
// record itself.
func inField(p jsontext.Pointer) string {
	if p == "" {
		return ""
	}
	return " in " + fieldPath(p)
}

// jsonKind names a JSON kind as the format's documentation does.
func jsonKind(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case '{':
		return "an object"
	case '[':
		return "a list"
	}
	return "a JSON " + k.String()
}

// user is the record's person, state and source.
func (r *userRecord) user() (store.UserDetail, error) {
	if r.State == "" {
		r.State = string(domain.UserActive)
	}
	if r.Source == "" {
		r.Source = domain.SourceImport
	}
	p := domain.Person{
		DN: r.DN, DirectoryID: r.DirectoryID, Username: r.Username, GivenName: r.GivenName, Surname: r.Surname,
		DisplayName: r.DisplayName, Email: r.Email, Phone: r.Phone, Title: r.Title, Department: r.Department,
		EmployeeNumber: r.EmployeeNumber,
	}
	if strings.TrimSpace(r.Username) == "" {
		return store.UserDetail{}, domain.Errorf(domain.EINVALID, "username is required")
	}
	if err := domain.ValidatePerson(p); err != nil {
		return store.UserDetail{}, err
	}
	st, err := domain.ParseUserState(r.State)
	if err != nil {
		return store.UserDetail{}, err
	}
	if err := domain.ValidateUserSource(r.Source); err != nil {
		return store.UserDetail{}, err
	}
	d := store.UserDetail{User: domain.User{State: st, Source: r.Source}}
	domain.ApplyPerson(&d.User, p)
	return d, nil
}

// credentials are the record's credentials with their certificates; a
// credential or certificate listed twice is refused. Where a problem is
// (credentials[0].certificates[1]) is worded only for a problem: this runs
// for every record of an import.
func (r *userRecord) credentials() ([]store.CredentialDetail, error) {
	if len(r.Credentials) == 0 {
		return nil, nil
	}
	out := make([]store.CredentialDetail, 0, len(r.Credentials))
	credSeen, certSeen := map[[2]string]bool{}, map[[2]string]bool{}
	for i, c := range r.Credentials {
		where := func() string { return fmt.Sprintf("credentials[%d]", i) }
		cred := domain.Credential{Type: domain.CredentialType(c.Type), Serial: c.Serial, State: domain.CredentialState(c.State)}
		if err := domain.ValidateCredential(cred); err != nil {
			return nil, domain.At(where(), err)
		}
		if credSeen[[2]string{c.Type, c.Serial}] {
			return nil, domain.Errorf(domain.EINVALID, "%s: %s %s is listed twice", where(), c.Type, c.Serial)
		}
		credSeen[[2]string{c.Type, c.Serial}] = true
		cd := store.CredentialDetail{Credential: cred}
		if len(c.Certificates) > 0 {
			cd.Certificates = make([]domain.Certificate, 0, len(c.Certificates))
		}
		for j, k := range c.Certificates {
			certWhere := func() string { return fmt.Sprintf("%s.certificates[%d]", where(), j) }
			cert := k.certificate()
			if err := domain.ValidateCertificate(cert); err != nil {
				return nil, domain.At(certWhere(), err)
			}
			if certSeen[[2]string{k.Issuer, k.Serial}] {
				return nil, domain.Errorf(domain.EINVALID, "%s: certificate %s of %s is listed twice", certWhere(), k.Serial, k.Issuer)
			}
			certSeen[[2]string{k.Issuer, k.Serial}] = true
			cd.Certificates = append(cd.Certificates, cert)
		}
		out = append(out, cd)
	}
	return out, nil
}

// certificate is the record's certificate, its times in UTC.
func (k certificateRecord) certificate() domain.Certificate {
	cert := domain.Certificate{
		Serial: k.Serial, Subject: k.Subject, Issuer: k.Issuer, NotBefore: k.NotBefore.UTC(), NotAfter: k.NotAfter.UTC(),
		State: domain.CertificateState(k.State),
	}
	if k.RevocationReason != "" {
		reason := k.RevocationReason
		cert.RevocationReason = &reason
	}
	if k.RevokedAt != nil {
		t := k.RevokedAt.UTC()
		cert.RevokedAt = &t
	}
	return cert
}

// roles are the record's role names, trimmed, each once.
func (r *userRecord) roles() ([]store.RoleDetail, error) {
	var out []store.RoleDetail
	seen := map[string]bool{}
	for i, name := range r.Roles {
		name = strings.TrimSpace(name)
		if err := domain.ValidateRoleName(name); err != nil {
			return nil, domain.At(fmt.Sprintf("roles[%d]", i), err)
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, store.RoleDetail{RoleName: name})
		}
	}
	return out, nil
}

// recordOf turns a stored user into the import/export format.
func recordOf(u *store.UserDetail) userRecord {
	r := userRecord{
		ID: u.ID, Username: u.Username, DN: u.DN, GivenName: u.GivenName, Surname: u.Surname,
		DisplayName: u.DisplayName, Email: u.Email, Phone: u.Phone, Title: u.Title, Department: u.Department,
		EmployeeNumber: u.EmployeeNumber, State: string(u.State), Source: u.Source,
		LastSyncedAt: u.LastSyncedAt,
	}
	created, updated := u.CreatedAt, u.UpdatedAt
	r.CreatedAt, r.UpdatedAt = &created, &updated
	if u.DirectoryID != nil {
		r.DirectoryID = *u.DirectoryID
	}
	for _, c := range u.Credentials {
		cr := credentialRecord{Type: string(c.Type), Serial: c.Serial, State: string(c.State)}
		for _, k := range c.Certificates {
			kr := certificateRecord{
				Serial: k.Serial, Subject: k.Subject, Issuer: k.Issuer, NotBefore: k.NotBefore.UTC(), NotAfter: k.NotAfter.UTC(),
				State: string(k.State), RevokedAt: k.RevokedAt,
			}
			if k.RevocationReason != nil {
				kr.RevocationReason = *k.RevocationReason
			}
			cr.Certificates = append(cr.Certificates, kr)
		}
		r.Credentials = append(r.Credentials, cr)
	}
	for _, ra := range u.Roles {
		if ra.WithdrawnAt == nil {
			r.Roles = append(r.Roles, ra.RoleName)
			continue
		}
		wr := withdrawnRole{Name: ra.RoleName, WithdrawnAt: ra.WithdrawnAt}
		if ra.WithdrawnBy != nil {
			wr.WithdrawnBy = *ra.WithdrawnBy
		}
		r.WithdrawnRoles = append(r.WithdrawnRoles, wr)
	}
	return r
}
