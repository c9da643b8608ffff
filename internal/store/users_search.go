package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"idm/internal/domain"
)

// UserQuery searches users; Text matches username, names and email.
type UserQuery struct {
	Text   string
	State  domain.UserState
	Offset int
	Limit  int
}

// SearchUsers finds users by username, name or email (case-insensitive
// substring) and state, ordered by username, with the total count.
func (db *DB) SearchUsers(ctx context.Context, uq UserQuery) ([]domain.User, int, error) {
	q := db.read.WithContext(ctx).Model(&domain.User{})
	if t := strings.TrimSpace(uq.Text); t != "" {
		like := "%" + escapeLike(strings.ToLower(t)) + "%"
		q = q.Where("LOWER(username) LIKE ? ESCAPE '\\' OR LOWER(given_name) LIKE ? ESCAPE '\\' OR LOWER(surname) LIKE ? ESCAPE '\\' OR LOWER(display_name) LIKE ? ESCAPE '\\' OR LOWER(email) LIKE ? ESCAPE '\\'",
			like, like, like, like, like)
	}
	if uq.State != "" {
		q = q.Where("state = ?", uq.State)
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("store: count users: %w", err)
	}
	limit := uq.Limit
	if limit <= 0 {
		limit = 50
	}
	var users []domain.User
	if err := q.Order("username").Offset(uq.Offset).Limit(limit).Find(&users).Error; err != nil {
		return nil, 0, fmt.Errorf("store: search users: %w", err)
	}
	return users, int(total), nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// UserByUsername returns the user with its credentials, certificates and
// every role assignment (withdrawn ones too).
func (db *DB) UserByUsername(ctx context.Context, username string) (*UserDetail, error) {
	return db.userBy(ctx, "username = ?", username)
}

// UserByID returns the user with its credentials, certificates and roles.
func (db *DB) UserByID(ctx context.Context, id string) (*UserDetail, error) {
	return db.userBy(ctx, "id = ?", id)
}

func (db *DB) userBy(ctx context.Context, cond string, arg string) (*UserDetail, error) {
	var u domain.User
	err := db.read.WithContext(ctx).Where(cond, arg).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, domain.Errorf(domain.ENOTFOUND, "no user %q", arg)
	} else if err != nil {
		return nil, fmt.Errorf("store: get user %q: %w", arg, err)
	}
	h, err := db.LoadHoldings(ctx, []string{u.ID}, false)
	if err != nil {
		return nil, err
	}
	return &UserDetail{User: u, Holdings: *h[u.ID]}, nil
}

// EachUserDetail walks every user with holdings, chunk users at a time, in
// id order (for export).
func (db *DB) EachUserDetail(ctx context.Context, chunk int, fn func([]UserDetail) error) error {
	return db.EachUser(ctx, UserFilter{}, chunk, func(users []domain.User) error {
		ids := make([]string, len(users))
		for i, u := range users {
			ids[i] = u.ID
		}
		hs, err := db.LoadHoldings(ctx, ids, false)
		if err != nil {
			return err
		}
		out := make([]UserDetail, len(users))
		for i, u := range users {
			out[i] = UserDetail{User: u, Holdings: *hs[u.ID]}
		}
		return fn(out)
	})
}
