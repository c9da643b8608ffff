package store

import (
	"context"
	"fmt"
	"strings"

	"idm/internal/domain"
)

// RunItemFilter narrows a run's items: to one outcome, and to usernames
// holding Username (case-insensitive). Empty fields match everything.
type RunItemFilter struct {
	Outcome  string
	Username string
}

// FindRunItems returns the items of run runID that match f, in the order
// the run recorded them, with the total count.
func (db *DB) FindRunItems(ctx context.Context, runID string, f RunItemFilter, offset, limit int) ([]domain.RunItem, int, error) {
	q := db.read.WithContext(ctx).Model(&domain.RunItem{}).Where("run_id = ?", runID)
	if f.Outcome != "" {
		q = q.Where("outcome = ?", f.Outcome)
	}
	if u := strings.TrimSpace(f.Username); u != "" {
		q = q.Where("LOWER(username) LIKE ? ESCAPE '\\'", "%"+escapeLike(strings.ToLower(u))+"%")
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("store: count items of run %s: %w", runID, err)
	}
	var items []domain.RunItem
	if err := q.Order("seq").Offset(offset).Limit(limit).Find(&items).Error; err != nil {
		return nil, 0, fmt.Errorf("store: list items of run %s: %w", runID, err)
	}
	for i := range items {
		items[i].RunID = runID
	}
	return items, int(total), nil
}

// CredentialTypeChanges is what a run did to the credentials of one type and
// to the certificates they hold.
type CredentialTypeChanges struct {
	Type         domain.CredentialType
	Credentials  int // moved to the type's end state (inactive or locked)
	Certificates int // moved to the type's certificate end state (on hold or revoked)
}

// RunCredentialChanges counts, per credential type, the credentials and
// certificates that run runID's deactivations changed. It counts in the
// database, over every item however many, the changes whose field names
// the type (domain.CredentialChangePrefix, CertificateChangeMark) in the
// items' JSON: one query, whatever the run's size.
func (db *DB) RunCredentialChanges(ctx context.Context, runID string) ([]CredentialTypeChanges, error) {
	var cols []string
	var args []any
	for _, t := range domain.CredentialTypes {
		for _, pattern := range []string{`"field":"` + domain.CredentialChangePrefix(t), domain.CertificateChangeMark(t)} {
			// How often pattern occurs in changes: the length it takes up, over its length.
			cols = append(cols, "COALESCE(SUM((LENGTH(changes) - LENGTH(REPLACE(changes, ?, ''))) / ?), 0)")
			args = append(args, pattern, len(pattern))
		}
	}
	args = append(args, runID, domain.OutcomeDeactivated)
	row := db.read.WithContext(ctx).Raw("SELECT "+strings.Join(cols, ", ")+" FROM run_items WHERE run_id = ? AND outcome = ?", args...).Row()
	counts := make([]int64, len(cols))
	dst := make([]any, len(cols))
	for i := range counts {
		dst[i] = &counts[i]
	}
	if err := row.Scan(dst...); err != nil {
		return nil, fmt.Errorf("store: count credential changes of run %s: %w", runID, err)
	}
	out := make([]CredentialTypeChanges, len(domain.CredentialTypes))
	for i, t := range domain.CredentialTypes {
		out[i] = CredentialTypeChanges{Type: t, Credentials: int(counts[2*i]), Certificates: int(counts[2*i+1])}
	}
	return out, nil
}
