package engine

import (
	"context"

	"idm/internal/directory"
	"idm/internal/domain"
)

// Source is what the engine needs of the directory: a count of what a filter
// finds, and a paged search handed over one page at a time. An error from
// either means the result is unknown, never that it is short.
type Source interface {
	Count(ctx context.Context, filter string) (int, error)
	Search(ctx context.Context, filter string, m domain.AttributeMap, fn func(page []directory.Entry) error) error
	Close() error
}

// Dialer connects to the directory that settings describe.
type Dialer func(ctx context.Context, settings domain.LDAPSettings, bindPassword string) (Source, error)

// DialDirectory is the Dialer for a real directory, through go-ldap.
func DialDirectory(ctx context.Context, settings domain.LDAPSettings, bindPassword string) (Source, error) {
	c, err := directory.Dial(ctx, settings, bindPassword)
	if err != nil {
		return nil, err
	}
	return c, nil
}
