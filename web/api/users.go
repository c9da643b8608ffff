package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"idm/internal/domain"
	"idm/internal/store"
)

type userInput struct {
	Username string `path:"username" doc:"The username, percent-encoded: a / in it is %2F."`
}

// User is a stored user with what was issued to them.
type User struct {
	ID             string       `json:"id"`
	Username       string       `json:"username"`
	DirectoryID    string       `json:"directory_id,omitempty" doc:"The directory's stable identifier (entryUUID, objectGUID)."`
	DN             string       `json:"dn"`
	GivenName      string       `json:"given_name"`
	Surname        string       `json:"surname"`
	DisplayName    string       `json:"display_name"`
	Email          string       `json:"email"`
	Phone          string       `json:"phone"`
	Title          string       `json:"title"`
	Department     string       `json:"department"`
	EmployeeNumber string       `json:"employee_number"`
	State          string       `json:"state" enum:"active,inactive"`
	Source         string       `json:"source"`
	CreatedAt      time.Time    `json:"created_at"`
	UpdatedAt      time.Time    `json:"updated_at"`
	LastSyncedAt   *time.Time   `json:"last_synced_at,omitempty"`
	Credentials    []Credential `json:"credentials"`
	Roles          []Role       `json:"roles"`
}

// Credential is one credential of a user, with its certificates.
type Credential struct {
	ID           string        `json:"id"`
	Type         string        `json:"type" enum:"card,temporary_card,virtual_smart_card,mobile_id,soft_token"`
	Serial       string        `json:"serial"`
	State        string        `json:"state" enum:"active,inactive,locked"`
	Certificates []Certificate `json:"certificates"`
}

// Certificate is a certificate on a credential.
type Certificate struct {
	Serial           string     `json:"serial"`
	Subject          string     `json:"subject"`
	Issuer           string     `json:"issuer"`
	NotBefore        time.Time  `json:"not_before"`
	NotAfter         time.Time  `json:"not_after"`
	State            string     `json:"state" enum:"active,on_hold,revoked,expired"`
	RevocationReason string     `json:"revocation_reason,omitempty"`
	RevokedAt        *time.Time `json:"revoked_at,omitempty"`
}

// Role is a role a user holds or held.
type Role struct {
	Name        string     `json:"name"`
	AssignedAt  time.Time  `json:"assigned_at"`
	WithdrawnAt *time.Time `json:"withdrawn_at,omitempty" doc:"When a run withdrew it; absent while the user holds it."`
}

type userOutput struct {
	Body *User
}

func (s *server) registerUsers() {
	huma.Register(s.api, s.operation(http.MethodGet, "/users/{username}", "get-user", "Read a user", operators, http.StatusNotFound), s.getUser)
}

func (s *server) getUser(ctx context.Context, in *userInput) (*userOutput, error) {
	if err := domain.CheckUsername(in.Username); err != nil {
		return nil, s.problem(ctx, err)
	}
	u, err := s.d.Store.UserByUsername(ctx, in.Username)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return &userOutput{Body: userOf(u)}, nil
}

func userOf(u *store.UserDetail) *User {
	out := &User{
		ID: u.ID, Username: u.Username, DN: u.DN, GivenName: u.GivenName, Surname: u.Surname, DisplayName: u.DisplayName,
		Email: u.Email, Phone: u.Phone, Title: u.Title, Department: u.Department, EmployeeNumber: u.EmployeeNumber,
		State: string(u.State), Source: u.Source, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, LastSyncedAt: u.LastSyncedAt,
		Credentials: []Credential{}, Roles: []Role{},
	}
	if u.DirectoryID != nil {
		out.DirectoryID = *u.DirectoryID
	}
	for _, c := range u.Credentials {
		cred := Credential{ID: c.ID, Type: string(c.Type), Serial: c.Serial, State: string(c.State), Certificates: []Certificate{}}
		for _, k := range c.Certificates {
			cert := Certificate{Serial: k.Serial, Subject: k.Subject, Issuer: k.Issuer, NotBefore: k.NotBefore, NotAfter: k.NotAfter,
				State: string(k.State), RevokedAt: k.RevokedAt}
			if k.RevocationReason != nil {
				cert.RevocationReason = *k.RevocationReason
			}
			cred.Certificates = append(cred.Certificates, cert)
		}
		out.Credentials = append(out.Credentials, cred)
	}
	for _, r := range u.Roles {
		out.Roles = append(out.Roles, Role{Name: r.RoleName, AssignedAt: r.AssignedAt, WithdrawnAt: r.WithdrawnAt})
	}
	return out
}
