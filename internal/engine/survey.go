package engine

import (
	"context"
	"fmt"

	"idm/internal/directory"
	"idm/internal/domain"
)

// heldEntry is one entry of the inactive job's result that the survey found
// something to do for, kept in memory until the deactivation limit has
// been checked: what the write needs to decide the user's change again
// without reading the directory a second time. It is small (about 200
// bytes and its strings): the change itself is decided when it is
// written, from the user and holdings read then.
type heldEntry struct {
	// seq is the number of the entry's run item, given in the survey's
	// order so that items are numbered as one pass would number them.
	seq int
	// userID is the matched user; "" for a user to create.
	userID string
	// dn, username and directoryID are the entry's identity fields: all
	// the inactive job changes of an existing user's fields.
	dn, username, directoryID string
	// create is the whole entry of a user to create.
	create *domain.Person
	// failed is an error item the survey decided (a bad or duplicate
	// entry): written as it is.
	failed *planned
}

// size is about how many bytes h holds.
func (h *heldEntry) size() int {
	n := 96 + len(h.userID) + len(h.dn) + len(h.username) + len(h.directoryID)
	if h.create != nil {
		n += 200
		for _, f := range domain.PersonFields(*h.create) {
			n += len(f[1])
		}
	}
	if h.failed != nil {
		it := h.failed.change.Item
		n += 300 + len(it.Username) + len(it.DN) + len(it.Error)
	}
	return n
}

// person is the entry as the write decides it.
func (h *heldEntry) person() domain.Person {
	if h.create != nil {
		return *h.create
	}
	return domain.Person{DN: h.dn, Username: h.username, DirectoryID: h.directoryID}
}

// survey decides, for each entry of page, whether the inactive job has
// anything to do: it screens, looks up and matches like plan, then asks
// the store in one aggregate query which matched users hold anything not
// in its end state, and loads no holdings. Users with nothing to do are
// counted unchanged; the others, and the error items, are returned held.
// would is how many of them the job would deactivate (their state becomes
// inactive). With keep false (the held plan outgrew memory) it only counts
// would and holds nothing.
func (s *session) survey(ctx context.Context, page []directory.Entry, keep bool) (hs []heldEntry, would int, err error) {
	out, unmapped, cands := s.screen(page)
	var byDir, byName map[string]*domain.User
	if len(cands) > 0 || len(unmapped) > 0 {
		if byDir, byName, err = s.lookUp(ctx, append(cands, unmapped.people()...)); err != nil {
			return nil, 0, err
		}
	}
	out = append(out, s.unmappedItems(unmapped, byDir, byName)...)
	matched, _, refused := s.matchAll(cands, byDir, byName)
	for _, p := range append(out, refused...) {
		hs = append(hs, heldEntry{seq: p.change.Item.Seq, failed: &p})
	}
	var pending map[string]bool
	if ids := s.inStateIDs(matched); keep && len(ids) > 0 {
		if pending, err = s.db.PendingHoldings(ctx, ids, s.now); err != nil {
			return nil, 0, err
		}
	}
	for i, p := range cands {
		u := matched[i]
		switch {
		case p.Username == "":
			continue // an error item was made when matching
		case u == nil:
			hs = append(hs, heldEntry{seq: s.reserveSeq(), create: &p})
		case s.inJobState(u) && !pending[u.ID] && len(identityChanges(u, p, map[string]any{})) == 0:
			s.counts.Unchanged++
		default:
			if becomesInactive(u) {
				would++
			}
			hs = append(hs, heldEntry{seq: s.reserveSeq(), userID: u.ID, dn: p.DN, username: p.Username, directoryID: p.DirectoryID})
		}
	}
	if !keep {
		return nil, would, nil
	}
	return hs, would, nil
}

// inStateIDs are the ids of the matched users already in the job's state:
// the only ones whose holdings decide whether there is anything to do. A
// user the job moves into its state is held whatever it holds, so on a
// first inactive run, where every user is still active, the store is not
// asked at all.
func (s *session) inStateIDs(matched []*domain.User) []string {
	var ids []string
	for _, u := range matched {
		if u != nil && s.inJobState(u) {
			ids = append(ids, u.ID)
		}
	}
	return ids
}

// reserveSeq gives the next run item number to an entry whose item is made
// later.
func (s *session) reserveSeq() int {
	s.seq++
	return s.seq
}

// replan decides the change of every held entry of hs, reading the users
// and their holdings in a few queries, and writing nothing: the changes one pass would have planned for these entries, with
// the numbers the survey gave their items.
func (s *session) replan(ctx context.Context, hs []heldEntry) ([]planned, error) {
	var ids []string
	for _, h := range hs {
		if h.userID != "" {
			ids = append(ids, h.userID)
		}
	}
	users, err := s.db.UsersByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	// The survey found these users' holdings to end (or their state to
	// change): they are loaded as they are now, not asked about again.
	holdings, err := s.db.HoldingsToEnd(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]planned, 0, len(hs))
	for _, h := range hs {
		if h.failed != nil {
			out = append(out, *h.failed)
			continue
		}
		s.seq = h.seq - 1
		var u *domain.User
		if h.userID != "" {
			if u = users[h.userID]; u == nil {
				out = append(out, s.errorItem(h.person(), nil, fmt.Sprintf("user %q was removed during the run; it was not changed", h.username)))
				continue
			}
		}
		if pl, ok := s.decide(h.person(), u, holdings); ok {
			out = append(out, pl)
		}
	}
	return out, nil
}

// fork is a session that plans again what this one surveyed, in another
// goroutine than the one that writes: it shares the seen sets and the
// clock, and counts on its own (decide counts the unchanged users).
func (s *session) fork() *session {
	c := *s
	c.counts = domain.RunCounts{}
	return &c
}
