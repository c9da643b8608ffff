package store

import (
	"context"
	"fmt"

	"idm/internal/domain"
)

// RunItemsAfter returns up to limit items of run runID with a seq after
// afterSeq, in seq order, only those with outcome when it is not "": a page
// of the API's keyset paging, served by the (run_id, seq) key.
func (db *DB) RunItemsAfter(ctx context.Context, runID, outcome string, afterSeq, limit int) ([]domain.RunItem, error) {
	q := db.read.WithContext(ctx).Where("run_id = ? AND seq > ?", runID, afterSeq)
	if outcome != "" {
		q = q.Where("outcome = ?", outcome)
	}
	var items []domain.RunItem
	if err := q.Order("seq").Limit(limit).Find(&items).Error; err != nil {
		return nil, fmt.Errorf("store: items of run %s after %d: %w", runID, afterSeq, err)
	}
	for i := range items {
		items[i].RunID = runID
	}
	return items, nil
}
