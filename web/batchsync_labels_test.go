package web_test

import (
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// TestBatchSyncLabels: the list says each expression in words beside it; a
// job's page labels the saved expression apart from the field, and names
// the zone its next runs are in.
func TestBatchSyncLabels(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	t.Run("ListDescribesEachExpression", func(t *testing.T) {
		doc := e.get("/admin/batch-sync")
		for key, want := range map[string]string{"active": "Every day at 02:00", "inactive": "Every day at 02:30"} {
			if got := testid(doc, "description-"+key); got != want {
				t.Errorf("%s: %q, want %q", key, got, want)
			}
		}
	})
	t.Run("OneExpressionLabel", func(t *testing.T) {
		doc := e.get("/admin/batch-sync/inactive")
		var labels []string
		doc.Find("dt, label").Each(func(_ int, s *goquery.Selection) {
			if l := strings.TrimSpace(s.Text()); strings.Contains(l, "xpression") {
				labels = append(labels, l)
			}
		})
		if strings.Join(labels, "|") != "Saved expression|Expression" {
			t.Errorf("labels %q, want the saved expression and the field told apart", labels)
		}
		if got := testid(doc, "stored-description"); got != "Every day at 02:30" {
			t.Errorf("saved expression described as %q", got)
		}
		if got := doc.Find(`[data-testid="check-next"]`).Prev().Text(); got != "Next runs ("+testTimeZone+"):" {
			t.Errorf("next runs heading %q", got)
		}
	})
}
