package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"idm/internal/domain"
)

// Webhooks, their outbox of run notices and the delivery log.
//
// A run's notices are written in the transaction that records its end
// (FinishRun, AbortStaleRuns): one row per subscribed webhook, so whichever
// instance records the end enqueues them, once. Delivery workers claim due
// rows (ClaimNotices; on PostgreSQL with FOR UPDATE SKIP LOCKED, so that
// the instances of a cluster share the work without taking a row twice),
// and record each attempt's outcome (RecordDelivery).

// eventColumn is the webhooks column that subscribes to each run event.
var eventColumn = map[string]string{
	domain.EventRunFailed:           "on_run_failed",
	domain.EventSafetyStop:          "on_safety_stop",
	domain.EventSucceededWithErrors: "on_succeeded_with_errors",
	domain.EventSucceeded:           "on_succeeded",
}

// ListWebhooks returns every webhook by name.
func (db *DB) ListWebhooks(ctx context.Context) ([]domain.Webhook, error) {
	var hooks []domain.Webhook
	if err := db.read.WithContext(ctx).Order("name, id").Find(&hooks).Error; err != nil {
		return nil, fmt.Errorf("store: list webhooks: %w", err)
	}
	return hooks, nil
}

// GetWebhook returns webhook id, or a domain ENOTFOUND error.
func (db *DB) GetWebhook(ctx context.Context, id string) (*domain.Webhook, error) {
	if err := domain.CheckWebhookID(id); err != nil {
		return nil, err // PostgreSQL refuses a NUL or invalid UTF-8 with an error
	}
	var w domain.Webhook
	err := db.read.WithContext(ctx).Where("id = ?", id).Take(&w).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, domain.Errorf(domain.ENOTFOUND, "There is no webhook %q.", id)
	} else if err != nil {
		return nil, fmt.Errorf("store: get webhook %s: %w", id, err)
	}
	return &w, nil
}

// CreateWebhook stores a new webhook (validated, its secret sealed) for
// actor, with its audit event; it fills w's id and times.
func (db *DB) CreateWebhook(ctx context.Context, w *domain.Webhook, actor string) error {
	now := db.Now()
	w.ID, w.CreatedAt, w.UpdatedAt, w.UpdatedBy = NewID(), now, now, actor
	return db.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(w).Error; err != nil {
			return fmt.Errorf("store: create webhook: %w", err)
		}
		return addAudit(tx, domain.AuditEvent{At: now, Actor: actor, Action: domain.AuditWebhookCreate, Target: w.ID, Detail: describeWebhook(w)})
	})
}

// SaveWebhook stores w's fields over the webhook of its id for actor, with
// its audit event (which says that the secret changed, never what it is).
// A disabled webhook's pending notices are dropped: it is told nothing
// until it is enabled again.
func (db *DB) SaveWebhook(ctx context.Context, w *domain.Webhook, actor string) error {
	return db.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var cur domain.Webhook
		err := tx.Where("id = ?", w.ID).Take(&cur).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return domain.Errorf(domain.ENOTFOUND, "There is no webhook %q.", w.ID)
		} else if err != nil {
			return fmt.Errorf("store: load webhook %s: %w", w.ID, err)
		}
		w.CreatedAt, w.UpdatedAt, w.UpdatedBy = cur.CreatedAt, db.Now(), actor
		if err := tx.Select("*").Omit("created_at").Updates(w).Error; err != nil {
			return fmt.Errorf("store: save webhook %s: %w", w.ID, err)
		}
		if !w.Enabled {
			if err := tx.Where("webhook_id = ?", w.ID).Delete(&domain.Notice{}).Error; err != nil {
				return fmt.Errorf("store: drop notices of webhook %s: %w", w.ID, err)
			}
		}
		detail := describeWebhook(w)
		if w.SecretEnc != cur.SecretEnc {
			detail += "; signing secret changed"
		}
		return addAudit(tx, domain.AuditEvent{At: w.UpdatedAt, Actor: actor, Action: domain.AuditWebhookSave, Target: w.ID, Detail: detail})
	})
}

// DeleteWebhook removes webhook id with its pending notices and its
// delivery log, and audits it.
func (db *DB) DeleteWebhook(ctx context.Context, id, actor string) error {
	if err := domain.CheckWebhookID(id); err != nil {
		return err
	}
	return db.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var w domain.Webhook
		err := tx.Where("id = ?", id).Take(&w).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return domain.Errorf(domain.ENOTFOUND, "There is no webhook %q.", id)
		} else if err != nil {
			return fmt.Errorf("store: load webhook %s: %w", id, err)
		}
		for _, model := range []any{&domain.Delivery{}, &domain.Notice{}} {
			if err := tx.Where("webhook_id = ?", id).Delete(model).Error; err != nil {
				return fmt.Errorf("store: delete webhook %s: %w", id, err)
			}
		}
		if err := tx.Delete(&w).Error; err != nil {
			return fmt.Errorf("store: delete webhook %s: %w", id, err)
		}
		return addAudit(tx, domain.AuditEvent{Actor: actor, Action: domain.AuditWebhookDelete, Target: id, Detail: "deleted webhook " + w.Name})
	})
}

// describeWebhook says what w is for the audit log, without its secret.
func describeWebhook(w *domain.Webhook) string {
	return fmt.Sprintf("name %q, url %q, events %s, enabled %t", w.Name, w.URL, strings.Join(w.Events(), ","), w.Enabled)
}

// enqueueRunNotices writes, in tx, the notice of finished run r for every
// enabled webhook that subscribes to its event. A run announces its end
// once: a second call (a final record written again) adds nothing.
func enqueueRunNotices(tx *gorm.DB, r *domain.Run, now time.Time) error {
	event, ok := domain.NoticeEvent(r)
	if !ok {
		return nil
	}
	var ids []string
	err := tx.Model(&domain.Webhook{}).Where("enabled = ? AND "+eventColumn[event]+" = ?", true, true).Pluck("id", &ids).Error
	if err != nil {
		return fmt.Errorf("store: webhooks for run %s: %w", r.ID, err)
	}
	if len(ids) == 0 {
		return nil
	}
	notices := make([]domain.Notice, len(ids))
	for i, id := range ids {
		notices[i] = domain.Notice{ID: NewID(), WebhookID: id, RunID: r.ID, Event: event, NextAttemptAt: now, CreatedAt: now}
	}
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&notices).Error; err != nil {
		return fmt.Errorf("store: enqueue notices of run %s: %w", r.ID, err)
	}
	return nil
}

// ClaimNotices claims up to limit notices due at now for one delivery
// attempt each: it counts the attempt and moves the notice's next attempt
// to now+lease, so that a worker that dies mid-attempt leaves the notice to
// be tried again after the lease. On PostgreSQL rows another instance is
// claiming are skipped (FOR UPDATE SKIP LOCKED); SQLite has one instance
// and one writer.
func (db *DB) ClaimNotices(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]domain.Notice, error) {
	// A look on the read pool first: an empty outbox, the usual case, then
	// costs no write transaction (on SQLite, no turn at the one writer).
	var due int64
	if err := db.read.WithContext(ctx).Model(&domain.Notice{}).Where("next_attempt_at <= ?", now).Limit(1).Count(&due).Error; err != nil {
		return nil, fmt.Errorf("store: due notices: %w", err)
	}
	if due == 0 {
		return nil, nil
	}
	var notices []domain.Notice
	err := db.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := tx.Where("next_attempt_at <= ?", now).Order("next_attempt_at, id").Limit(limit)
		if db.Dialect == DialectPostgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
		}
		if err := q.Find(&notices).Error; err != nil {
			return fmt.Errorf("store: due notices: %w", err)
		}
		if len(notices) == 0 {
			return nil
		}
		ids := make([]string, len(notices))
		for i := range notices {
			ids[i] = notices[i].ID
			notices[i].Attempts++
			notices[i].NextAttemptAt = now.Add(lease)
		}
		err := tx.Model(&domain.Notice{}).Where("id IN ?", ids).
			Updates(map[string]any{"attempts": gorm.Expr("attempts + 1"), "next_attempt_at": now.Add(lease)}).Error
		if err != nil {
			return fmt.Errorf("store: claim notices: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return notices, nil
}

// RecordDelivery logs attempt d and settles its notice: due again at
// retryAt, or (retryAt nil) done and removed. Only the claim that made the
// attempt (d.Attempt) settles the notice; a late answer to an older claim
// is logged and changes nothing else. A test delivery has no notice.
func (db *DB) RecordDelivery(ctx context.Context, d *domain.Delivery, retryAt *time.Time) error {
	if d.ID == "" {
		d.ID = NewID()
	}
	return db.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(d).Error; err != nil {
			return fmt.Errorf("store: log delivery: %w", err)
		}
		mine := tx.Where("id = ? AND attempts = ?", d.NoticeID, d.Attempt)
		var err error
		if retryAt != nil {
			err = mine.Model(&domain.Notice{}).Update("next_attempt_at", *retryAt).Error
		} else {
			err = mine.Delete(&domain.Notice{}).Error
		}
		if err != nil {
			return fmt.Errorf("store: settle notice %s: %w", d.NoticeID, err)
		}
		return nil
	})
}

// PruneDeliveries trims webhook webhookID's delivery log to its newest keep
// attempts (in the order ListDeliveries shows them), none from before
// before, and returns how many it removed. The delivery worker calls it
// after each attempt it records, so the log never outgrows either bound.
func (db *DB) PruneDeliveries(ctx context.Context, webhookID string, keep int, before time.Time) (int64, error) {
	keep = max(keep, 1) // the attempt just recorded stays
	newest := db.write.Model(&domain.Delivery{}).Select("id").Where("webhook_id = ?", webhookID).Order("at DESC, id DESC").Limit(keep)
	res := db.write.WithContext(ctx).Where("webhook_id = ? AND (at < ? OR id NOT IN (?))", webhookID, before, newest).Delete(&domain.Delivery{})
	if res.Error != nil {
		return 0, fmt.Errorf("store: prune the delivery log of webhook %s: %w", webhookID, res.Error)
	}
	return res.RowsAffected, nil
}

// ListDeliveries returns the newest delivery attempts first, of webhook
// webhookID or ("") of every webhook, at most limit.
func (db *DB) ListDeliveries(ctx context.Context, webhookID string, limit int) ([]domain.Delivery, error) {
	q := db.read.WithContext(ctx).Order("at DESC, id DESC").Limit(limit)
	if webhookID != "" {
		q = q.Where("webhook_id = ?", webhookID)
	}
	var ds []domain.Delivery
	if err := q.Find(&ds).Error; err != nil {
		return nil, fmt.Errorf("store: list deliveries: %w", err)
	}
	return ds, nil
}

// PendingNotices counts the notices waiting for delivery per webhook.
func (db *DB) PendingNotices(ctx context.Context) (map[string]int, error) {
	var rows []struct {
		WebhookID string
		N         int
	}
	err := db.read.WithContext(ctx).Model(&domain.Notice{}).Select("webhook_id, COUNT(*) AS n").Group("webhook_id").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: pending notices: %w", err)
	}
	m := make(map[string]int, len(rows))
	for _, r := range rows {
		m[r.WebhookID] = r.N
	}
	return m, nil
}
