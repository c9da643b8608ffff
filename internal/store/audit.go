package store

import (
	"context"
	"fmt"

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

// ListAudit returns audit events newest first, with the total count.
func (db *DB) ListAudit(ctx context.Context, offset, limit int) ([]domain.AuditEvent, int64, error) {
	var total int64
	if err := db.read.WithContext(ctx).Model(&domain.AuditEvent{}).Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("store: count audit events: %w", err)
	}
	var events []domain.AuditEvent
	err := db.read.WithContext(ctx).Order("at DESC, id DESC").Offset(offset).Limit(limit).Find(&events).Error
	if err != nil {
		return nil, 0, fmt.Errorf("store: list audit events: %w", err)
	}
	return events, total, nil
}
