package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

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
func decodeUserRecord(line []byte) (userRecord, error) {
	var r userRecord
	if err := domain.CheckRecordText(line); err != nil {
		return r, err
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, domain.Errorf(domain.EINVALID, "not a valid user record: %s", jsonProblem(err))
	}
	if dec.More() {
		return r, domain.Errorf(domain.EINVALID, "more than one JSON value on the line; put one user per line")
	}
	return r, nil
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
// credential or certificate listed twice is refused.
func (r *userRecord) credentials() ([]store.CredentialDetail, error) {
	var out []store.CredentialDetail
	credSeen, certSeen := map[string]bool{}, map[string]bool{}
	for i, c := range r.Credentials {
		where := fmt.Sprintf("credentials[%d]", i)
		cred := domain.Credential{Type: domain.CredentialType(c.Type), Serial: c.Serial, State: domain.CredentialState(c.State)}
		if err := domain.ValidateCredential(cred); err != nil {
			return nil, domain.At(where, err)
		}
		if credSeen[c.Type+"\x00"+c.Serial] {
			return nil, domain.Errorf(domain.EINVALID, "%s: %s %s is listed twice", where, c.Type, c.Serial)
		}
		credSeen[c.Type+"\x00"+c.Serial] = true
		cd := store.CredentialDetail{Credential: cred}
		for j, k := range c.Certificates {
			cw := fmt.Sprintf("%s.certificates[%d]", where, j)
			cert := k.certificate()
			if err := domain.ValidateCertificate(cert); err != nil {
				return nil, domain.At(cw, err)
			}
			if certSeen[k.Issuer+"\x00"+k.Serial] {
				return nil, domain.Errorf(domain.EINVALID, "%s: certificate %s of %s is listed twice", cw, k.Serial, k.Issuer)
			}
			certSeen[k.Issuer+"\x00"+k.Serial] = true
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

// jsonProblem words a decoding error without Go type names where it can.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("JSON syntax error at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %s has the wrong type (%s)", typ.Field, typ.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
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
