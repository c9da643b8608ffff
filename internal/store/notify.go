package store

import (
	"context"
	"fmt"
)

// Notify sends payload on the PostgreSQL notification channel, delivered to
// every connection that listens on it once the statement commits (cluster
// announcements). NOTIFY takes no parameters: pg_notify does.
func (db *DB) Notify(ctx context.Context, channel, payload string) error {
	if db.Dialect != DialectPostgres {
		return fmt.Errorf("store: notify: %s has no notifications", db.Dialect)
	}
	if err := db.write.WithContext(ctx).Exec("SELECT pg_notify(?, ?)", channel, payload).Error; err != nil {
		return fmt.Errorf("store: notify %s: %w", channel, err)
	}
	return nil
}
