package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"idm/internal/domain"
)

// AddAudit records an audit event on its own (a change that writes nothing
// else, such as a Clear cache).
func (db *DB) AddAudit(ctx context.Context, e domain.AuditEvent) error {
	return addAudit(db.write.WithContext(ctx), e)
}

// addAudit records an audit event inside the caller's transaction tx, so
// that the event and the change it describes commit together.
func addAudit(tx *gorm.DB, e domain.AuditEvent) error {
	if e.ID == "" {
		e.ID = NewID()
	}
	if e.At.IsZero() {
		e.At = tx.NowFunc()
	}
	if err := tx.Create(&e).Error; err != nil {
		return fmt.Errorf("store: audit %s: %w", e.Action, err)
	}
	return nil
}

// AuditFilter narrows the audit log: to one person (actor), one action,
// and events at or after From and before To. Zero fields match everything.
type AuditFilter struct {
	Actor  string
	Action string
	From   time.Time
	To     time.Time
}

// ListAudit returns audit events newest first, with the total count.
func (db *DB) ListAudit(ctx context.Context, offset, limit int) ([]domain.AuditEvent, int64, error) {
	return db.FindAudit(ctx, AuditFilter{}, offset, limit)
}

// FindAudit returns the audit events f keeps, newest first, with their
// total count.
func (db *DB) FindAudit(ctx context.Context, f AuditFilter, offset, limit int) ([]domain.AuditEvent, int64, error) {
	q := db.read.WithContext(ctx).Model(&domain.AuditEvent{})
	if f.Actor != "" {
		q = q.Where("actor = ?", f.Actor)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if !f.From.IsZero() {
		q = q.Where("at >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		q = q.Where("at < ?", f.To.UTC())
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("store: count audit events: %w", err)
	}
	var events []domain.AuditEvent
	if err := q.Order("at DESC, id DESC").Offset(offset).Limit(limit).Find(&events).Error; err != nil {
		return nil, 0, fmt.Errorf("store: list audit events: %w", err)
	}
	return events, total, nil
}

// AuditActors lists everyone the audit log names as having acted, by name.
func (db *DB) AuditActors(ctx context.Context) ([]string, error) {
	var actors []string
	if err := db.read.WithContext(ctx).Model(&domain.AuditEvent{}).Distinct("actor").Order("actor").Pluck("actor", &actors).Error; err != nil {
		return nil, fmt.Errorf("store: list audit actors: %w", err)
	}
	return actors, nil
}
