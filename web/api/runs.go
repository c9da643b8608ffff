package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"idm/internal/domain"
)

type runInput struct {
	ID string `path:"id" doc:"The run's id, as POST /jobs/{key}/runs answered it."`
}

type itemsInput struct {
	ID      string `path:"id"`
	Outcome string `query:"outcome" enum:"created,updated,deactivated,unchanged,error,orphan" doc:"Only the items with this outcome."`
	Cursor  string `query:"cursor" maxLength:"200" doc:"next_cursor of the previous page; absent for the first page."`
	Limit   int    `query:"limit" minimum:"1" maximum:"1000" default:"100" doc:"Items per page."`
}

// RunItem is what a run did with one user, or why it could not.
type RunItem struct {
	Seq      int                  `json:"seq"`
	UserID   string               `json:"user_id,omitempty"`
	Username string               `json:"username"`
	DN       string               `json:"dn"`
	Outcome  string               `json:"outcome" enum:"created,updated,deactivated,unchanged,error,orphan"`
	Changes  []domain.FieldChange `json:"changes" doc:"Each field's move, the user's state, credentials', certificates' and roles' included."`
	Error    string               `json:"error,omitempty"`
}

type itemsOutput struct {
	Body struct {
		Items      []RunItem `json:"items"`
		NextCursor string    `json:"next_cursor,omitempty" doc:"Pass it as cursor for the next page; absent on the last page."`
	}
}

func (s *server) registerRuns() {
	huma.Register(s.api, s.operation(http.MethodGet, "/runs/{id}", "get-run", "Read a run", operators, http.StatusNotFound), s.getRun)
	op := s.operation(http.MethodGet, "/runs/{id}/items", "list-run-items", "List what a run did with each user", operators, http.StatusNotFound)
	op.Description = "Items in the order the run wrote them, a page at a time: follow next_cursor until it is absent. " +
		"A run records no item for an unchanged user."
	huma.Register(s.api, op, s.listRunItems)
}

// readRun reads run id: one of this process in progress has fresher
// figures than its row.
func (s *server) readRun(ctx context.Context, id string) (*domain.Run, error) {
	if err := domain.CheckRunID(id); err != nil {
		return nil, err
	}
	run, err := s.d.Store.GetRun(ctx, id)
	if err != nil {
		return nil, err
	}
	if !run.Status.Finished() {
		if live, ok := s.d.Engine.Status(run.JobKey); ok && live.ID == run.ID {
			run = &live
		}
	}
	return run, nil
}

func (s *server) getRun(ctx context.Context, in *runInput) (*runOutput, error) {
	run, err := s.readRun(ctx, in.ID)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return &runOutput{Body: runOf(run)}, nil
}

func (s *server) listRunItems(ctx context.Context, in *itemsInput) (*itemsOutput, error) {
	run, err := s.readRun(ctx, in.ID)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	after, err := readCursor(in.Cursor, run.ID, in.Outcome)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	// One more than the page, to know whether another follows.
	items, err := s.d.Store.RunItemsAfter(ctx, run.ID, in.Outcome, after, in.Limit+1)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	out := &itemsOutput{}
	out.Body.Items = []RunItem{}
	if len(items) > in.Limit {
		items = items[:in.Limit]
		out.Body.NextCursor = makeCursor(run.ID, in.Outcome, items[len(items)-1].Seq)
	}
	for i := range items {
		it, err := itemOf(&items[i])
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out.Body.Items = append(out.Body.Items, it)
	}
	return out, nil
}

func itemOf(it *domain.RunItem) (RunItem, error) {
	out := RunItem{Seq: it.Seq, Username: it.Username, DN: it.DN, Outcome: it.Outcome, Error: it.Error, Changes: []domain.FieldChange{}}
	if it.UserID != nil {
		out.UserID = *it.UserID
	}
	if it.Changes != "" {
		if err := json.Unmarshal([]byte(it.Changes), &out.Changes); err != nil {
			return RunItem{}, fmt.Errorf("api: changes of item %d of run %s: %w", it.Seq, it.RunID, err)
		}
	}
	return out, nil
}
