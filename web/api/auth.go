package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"idm/internal/domain"
)

// access is who may call an operation.
type access int

const (
	operators      access = iota // operators and administrators
	administrators               // administrators only
)

// caller is who a request acts as: a token and its account.
type caller struct {
	token   *domain.APIToken
	account *domain.Account
}

const callerKey ctxKey = loggerKey + 1

// actor names the caller in the audit log and on runs and saves.
func actor(ctx context.Context) string {
	c := ctx.Value(callerKey).(caller)
	return domain.TokenActor(c.token.Name, c.account.Username)
}

// authenticate is every operation's middleware: the request's bearer token
// must be a live one (401 otherwise, with WWW-Authenticate), and its account
// allowed at level (403). Cookies are never read: a browser cannot be made
// to send a bearer token, so the API has no CSRF surface.
func (s *server) authenticate(level access) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		tok, acct, err := s.bearer(ctx)
		if err != nil {
			if domain.ErrorCode(err) == domain.EUNAUTHORIZED {
				ctx.SetHeader("WWW-Authenticate", `Bearer realm="idm"`)
			}
			s.refuse(ctx, err)
			return
		}
		if level == administrators && !acct.Role.CanAdminister() {
			loggerFrom(ctx.Context()).Warn("api access refused", "token", tok.Name, "account", acct.Username, "role", acct.Role, "path", ctx.URL().Path)
			s.refuse(ctx, domain.Errorf(domain.EFORBIDDEN, "This is for administrators. The token %s acts as %s, an %s.", tok.Name, acct.Username, acct.Role))
			return
		}
		next(huma.WithValue(ctx, callerKey, caller{token: tok, account: acct}))
	}
}

// bearer reads and checks the request's token.
func (s *server) bearer(ctx huma.Context) (*domain.APIToken, *domain.Account, error) {
	h := ctx.Header("Authorization")
	scheme, token, _ := strings.Cut(h, " ")
	switch {
	case h == "":
		return nil, nil, domain.Errorf(domain.EUNAUTHORIZED, "This API needs an API token: send the header Authorization: Bearer TOKEN.")
	case !strings.EqualFold(scheme, "Bearer"):
		return nil, nil, domain.Errorf(domain.EUNAUTHORIZED, "Send the API token as Authorization: Bearer TOKEN.")
	}
	return s.d.Tokens.Authenticate(ctx.Context(), strings.TrimSpace(token))
}

// refuse answers a request with err before its handler runs.
func (s *server) refuse(ctx huma.Context, err error) {
	p := s.problem(ctx.Context(), err)
	if werr := huma.WriteErr(s.api, ctx, p.status, p.Body.Message, p); werr != nil {
		loggerFrom(ctx.Context()).Error("api: write a refusal", "err", werr)
	}
}

// problem is err as the API answers it; an internal error is logged with
// its details first.
func (s *server) problem(ctx context.Context, err error) *ErrorResponse {
	p := problemOf(err)
	if p.status == http.StatusInternalServerError {
		loggerFrom(ctx).Error("api request failed", "err", err)
	}
	return p
}
