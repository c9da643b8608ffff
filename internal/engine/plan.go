package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"idm/internal/directory"
	"idm/internal/domain"
	"idm/internal/store"
)

// session is one pass over the directory result: what it has seen (to find
// duplicates and, at the end, orphans) and what it counted.
type session struct {
	db     lookup
	job    domain.JobKey
	runID  string
	dryRun bool
	now    time.Time

	// Keys seen so far in this pass. They grow with the directory, which is
	// what finding duplicates across pages and orphans without re-reading
	// the users table takes; keySet keeps them in about a third of what
	// string maps took.
	seenNames  *keySet
	seenDirIDs *keySet
	seenUsers  *keySet

	// inState counts the users in seenUsers that are, once this pass's
	// writes are done, in the job's state with source ldap: each counted
	// once, and only when that is certain (a user already there, or a write
	// that put it there and succeeded). When the store holds exactly that
	// many such users, none of them can be an orphan and the walk is
	// skipped; any doubt makes the figure smaller, which only costs a walk.
	inState int

	seq    int
	counts domain.RunCounts
}

// lookup is what planning a page reads of the store.
type lookup interface {
	UsersByDirectoryIDs(ctx context.Context, ids []string) (map[string]*domain.User, error)
	UsersByUsernames(ctx context.Context, names []string) (map[string]*domain.User, error)
	UsersByIDs(ctx context.Context, ids []string) (map[string]*domain.User, error)
	PendingHoldings(ctx context.Context, userIDs []string, now time.Time) (map[string]bool, error)
	HoldingsToEnd(ctx context.Context, userIDs []string) (map[string]*store.Holdings, error)
}

func newSession(db lookup, job domain.JobKey, runID string, dryRun bool, now time.Time) *session {
	return &session{
		db: db, job: job, runID: runID, dryRun: dryRun, now: now,
		seenNames: newKeySet(), seenDirIDs: newKeySet(), seenUsers: newKeySet(),
	}
}

// jobState is the state the job keeps its users in.
func (s *session) jobState() domain.UserState {
	if s.job == domain.JobInactive {
		return domain.UserInactive
	}
	return domain.UserActive
}

// inJobState reports whether u is already where this job puts its users.
func (s *session) inJobState(u *domain.User) bool {
	return u.State == s.jobState() && u.Source == domain.SourceLDAP
}

// planned is one user's change with the figures it adds to the run once it
// is written.
type planned struct {
	change *store.UserChange
	counts domain.RunCounts
	// enters is set when writing change puts a user into the job's state
	// with source ldap (see session.inState).
	enters bool
}

// plan computes the change of every entry of page, reading the store in a
// few queries and writing nothing. Entries that cannot be used become error
// items; unchanged users produce nothing at all. It screens the entries,
// looks their users up, matches each entry to its user and decides each
// user's change, in that order (the items are numbered in it).
func (s *session) plan(ctx context.Context, page []directory.Entry) ([]planned, error) {
	out, unmapped, cands := s.screen(page)
	if len(cands) == 0 && len(unmapped) == 0 {
		return out, nil
	}
	byDir, byName, err := s.lookUp(ctx, append(cands, unmapped.people()...))
	if err != nil {
		return nil, err
	}
	out = append(out, s.unmappedItems(unmapped, byDir, byName)...)
	matched, matchedIDs, refused := s.matchAll(cands, byDir, byName)
	out = append(out, refused...)
	var holdings map[string]*store.Holdings
	if s.job == domain.JobInactive {
		if holdings, err = s.pendingHoldings(ctx, matchedIDs); err != nil {
			return nil, err
		}
	}
	for i, p := range cands {
		if p.Username == "" {
			continue // an error item was made when matching
		}
		if pl, ok := s.decide(p, matched[i], holdings); ok {
			out = append(out, pl)
		}
	}
	return out, nil
}

// screen counts the entries read and keeps those that can be matched: an
// invalid entry, or one whose username or stable identifier an earlier
// entry of this pass had, becomes an error item; an entry the directory
// could not map is set aside in unmapped, to be named by its user.
func (s *session) screen(page []directory.Entry) (out []planned, unmapped unmappedEntries, cands []domain.Person) {
	for _, en := range page {
		s.counts.Read++
		if en.Err != nil {
			unmapped = append(unmapped, newUnmapped(en))
			continue
		}
		p := en.Person
		if p.DN == "" {
			p.DN = en.DN
		}
		if msg := s.screenOut(p); msg != "" {
			out = append(out, s.errorItem(p, nil, msg))
			continue
		}
		cands = append(cands, p)
	}
	return out, unmapped, cands
}

// unmapped is an entry the directory could not map: what could be read of
// it, and why the rest could not.
type unmapped struct {
	p   domain.Person
	msg string
}

type unmappedEntries []unmapped

func newUnmapped(en directory.Entry) unmapped {
	u := unmapped{p: domain.Person{DN: en.DN}, msg: domain.ErrorMessage(en.Err)}
	var ee *directory.EntryError
	if errors.As(en.Err, &ee) {
		u.p.DirectoryID, u.p.Username = ee.DirectoryID, ee.Username
		if ee.DN != "" {
			u.p.DN = ee.DN
		}
	}
	return u
}

// people are the parts of the entries that can be looked up.
func (us unmappedEntries) people() []domain.Person {
	var out []domain.Person
	for _, u := range us {
		if u.p.DirectoryID != "" || u.p.Username != "" {
			out = append(out, u.p)
		}
	}
	return out
}

// unmappedItems makes one error item for each entry that could not be
// mapped, on the user its stable identifier (or else its username) finds:
// the directory still returns that user, so it is not an orphan.
func (s *session) unmappedItems(us unmappedEntries, byDir, byName map[string]*domain.User) []planned {
	out := make([]planned, 0, len(us))
	for _, en := range us {
		u, _ := match(en.p, byDir, byName)
		if u != nil && s.seenUsers.Add(u.ID) && s.inJobState(u) {
			s.inState++
		}
		out = append(out, s.errorItem(en.p, u, en.msg))
	}
	return out
}

// screenOut says why the entry mapped to p cannot be used, "" when it can.
func (s *session) screenOut(p domain.Person) string {
	if err := domain.ValidatePerson(p); err != nil {
		return domain.ErrorMessage(err)
	}
	if !s.seenNames.Add(strings.ToLower(p.Username)) {
		return fmt.Sprintf("username %q is returned by more than one directory entry; this entry (%s) was skipped", p.Username, p.DN)
	}
	if p.DirectoryID != "" && !s.seenDirIDs.Add(p.DirectoryID) {
		return fmt.Sprintf("stable identifier %q is returned by more than one directory entry; this entry (%s) was skipped", p.DirectoryID, p.DN)
	}
	return ""
}

// lookUp reads the stored users the candidates may be: by stable id, and
// by username only where the stable id did not settle the match (no such
// user yet, or a rename, whose new name must be free). A repeated run of a
// directory with stable ids makes one query a page.
func (s *session) lookUp(ctx context.Context, cands []domain.Person) (byDir, byName map[string]*domain.User, err error) {
	dirIDs := make([]string, 0, len(cands))
	for _, p := range cands {
		if p.DirectoryID != "" {
			dirIDs = append(dirIDs, p.DirectoryID)
		}
	}
	if byDir, err = s.db.UsersByDirectoryIDs(ctx, dirIDs); err != nil {
		return nil, nil, err
	}
	var names []string
	for _, p := range cands {
		if p.Username == "" {
			continue
		}
		if u := byDir[p.DirectoryID]; p.DirectoryID == "" || u == nil || u.Username != p.Username {
			names = append(names, p.Username)
		}
	}
	if byName, err = s.db.UsersByUsernames(ctx, names); err != nil {
		return nil, nil, err
	}
	return byDir, byName, nil
}

// matchAll finds each candidate's stored user (nil for a new one). A
// candidate that cannot be matched safely, or whose user an earlier entry
// already matched, becomes an error item and is blanked in cands.
func (s *session) matchAll(cands []domain.Person, byDir, byName map[string]*domain.User) (matched []*domain.User, matchedIDs []string, refused []planned) {
	matched = make([]*domain.User, len(cands))
	for i, p := range cands {
		u, msg := match(p, byDir, byName)
		if msg != "" {
			if u != nil && s.seenUsers.Add(u.ID) && s.inJobState(u) {
				// The directory still returns this user: not an orphan.
				s.inState++
			}
			refused = append(refused, s.errorItem(p, u, msg))
			cands[i] = domain.Person{}
			continue
		}
		if u == nil {
			continue
		}
		if !s.seenUsers.Add(u.ID) {
			refused = append(refused, s.errorItem(p, u, fmt.Sprintf(
				"entry %s matches user %q, which another entry of this run already matched; it was skipped", p.DN, u.Username)))
			cands[i] = domain.Person{}
			continue
		}
		if s.inJobState(u) {
			s.inState++
		}
		matched[i] = u
		matchedIDs = append(matchedIDs, u.ID)
	}
	return matched, matchedIDs, refused
}

// decide plans the change for entry p and its stored user u (nil: a new
// user); false when the user stays as it is (counted as unchanged).
func (s *session) decide(p domain.Person, u *domain.User, holdings map[string]*store.Holdings) (planned, bool) {
	switch {
	case u == nil:
		return s.create(p), true
	case s.job == domain.JobActive:
		if pl, ok := s.activate(u, p); ok {
			pl.enters = !s.inJobState(u)
			return pl, true
		}
	default:
		pl, ok, err := s.deactivate(u, p, holdings[u.ID])
		switch {
		case err != nil:
			return s.errorItem(p, u, err.Error()), true
		case ok:
			pl.enters = !s.inJobState(u)
			return pl, true
		}
	}
	s.counts.Unchanged++
	return planned{}, false
}

// match finds the stored user for p: by stable identifier first, then by
// username. msg says why p cannot be matched safely.
func match(p domain.Person, byDir, byName map[string]*domain.User) (*domain.User, string) {
	if p.DirectoryID != "" {
		if u := byDir[p.DirectoryID]; u != nil {
			if v := byName[p.Username]; v != nil && v.ID != u.ID {
				return u, fmt.Sprintf("cannot rename user %q to %q: another user already has that username", u.Username, p.Username)
			}
			return u, ""
		}
	}
	u := byName[p.Username]
	if u != nil && p.DirectoryID != "" && u.DirectoryID != nil && *u.DirectoryID != p.DirectoryID {
		return nil, fmt.Sprintf("username %q belongs to a user with another stable identifier (%s) than entry %s (%s); it was not changed",
			p.Username, *u.DirectoryID, p.DN, p.DirectoryID)
	}
	return u, ""
}

func (s *session) nextItem(p domain.Person, u *domain.User, outcome string) *domain.RunItem {
	s.seq++
	it := &domain.RunItem{RunID: s.runID, Seq: s.seq, Username: p.Username, DN: p.DN, Outcome: outcome}
	if u != nil {
		id := u.ID
		it.UserID = &id
	}
	return it
}

func (s *session) errorItem(p domain.Person, u *domain.User, msg string) planned {
	it := s.nextItem(p, u, domain.OutcomeError)
	it.Error = msg
	it.DirectoryID = p.DirectoryID
	if u != nil {
		if it.Username == "" {
			it.Username = u.Username
		}
		if it.DirectoryID == "" && u.DirectoryID != nil {
			it.DirectoryID = *u.DirectoryID
		}
	}
	it.DirectoryID = clip(it.DirectoryID, domain.FieldLimits["directory_id"])
	it.Username = clip(it.Username, domain.FieldLimits["username"])
	it.DN = clip(it.DN, domain.FieldLimits["dn"])
	return planned{change: &store.UserChange{Item: it}, counts: domain.RunCounts{Errors: 1}}
}

// clip shortens a value for a run item column; the error text says what the
// full value was about.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func (s *session) create(p domain.Person) planned {
	state := domain.UserActive
	if s.job == domain.JobInactive {
		state = domain.UserInactive
	}
	now := s.now
	u := &domain.User{
		ID: store.NewID(), State: state, Source: domain.SourceLDAP, CreatedAt: now, UpdatedAt: now, LastSyncedAt: &now,
	}
	domain.ApplyPerson(u, p)
	s.seenUsers.Add(u.ID)
	var it *domain.RunItem
	if s.dryRun {
		it = s.nextItem(p, nil, domain.OutcomeCreated)
	} else {
		it = s.nextItem(p, u, domain.OutcomeCreated)
	}
	it.Changes = changesJSON([]domain.FieldChange{{Field: "state", After: string(state)}})
	return planned{change: &store.UserChange{Create: u, Item: it}, counts: domain.RunCounts{Created: 1}, enters: true}
}

// activate brings an existing user in line with the directory for the
// active job: mapped fields, state active. Credentials, certificates and
// roles are not touched.
func (s *session) activate(u *domain.User, p domain.Person) (planned, bool) {
	changes := domain.DiffPerson(u, p)
	fields := map[string]any{}
	for _, c := range changes {
		fields[c.Field] = c.After
	}
	changes = intoState(u, domain.UserActive, changes, fields)
	if len(fields) == 0 {
		return planned{}, false
	}
	fields["updated_at"] = s.now
	fields["last_synced_at"] = s.now
	it := s.nextItem(p, u, domain.OutcomeUpdated)
	it.Changes = changesJSON(changes)
	return planned{
		change: &store.UserChange{UserID: u.ID, UserFields: fields, Item: it},
		counts: domain.RunCounts{Updated: 1},
	}, true
}

// intoState adds to changes and fields what puts u into state with source
// ldap.
func intoState(u *domain.User, state domain.UserState, changes []domain.FieldChange, fields map[string]any) []domain.FieldChange {
	if u.State != state {
		changes = append(changes, domain.FieldChange{Field: "state", Before: string(u.State), After: string(state)})
		fields["state"] = state
	}
	if u.Source != domain.SourceLDAP {
		changes = append(changes, domain.FieldChange{Field: "source", Before: u.Source, After: domain.SourceLDAP})
		fields["source"] = domain.SourceLDAP
	}
	return changes
}

// identityFields are the fields the inactive job keeps in line with the
// directory: those that identify the user, so that a rename is followed.
// The rest of the mapped fields are the active job's business: a disabled
// account often has them stripped.
var identityFields = map[string]bool{"username": true, "dn": true, "directory_id": true}

// identityChanges are the identity fields of u that differ from entry p,
// also set in fields.
func identityChanges(u *domain.User, p domain.Person, fields map[string]any) []domain.FieldChange {
	var changes []domain.FieldChange
	for _, c := range domain.DiffPerson(u, p) {
		if identityFields[c.Field] {
			changes = append(changes, c)
			fields[c.Field] = c.After
		}
	}
	return changes
}

// pendingHoldings loads the holdings of those of the users ids that hold
// anything the inactive job would change, asking first which do (one
// aggregate query): a user whose holdings are all in their end state, as
// on every run after the first, costs no load.
func (s *session) pendingHoldings(ctx context.Context, ids []string) (map[string]*store.Holdings, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	pending, err := s.db.PendingHoldings(ctx, ids, s.now)
	if err != nil || len(pending) == 0 {
		return nil, err
	}
	load := make([]string, 0, len(pending))
	for _, id := range ids {
		if pending[id] {
			load = append(load, id)
		}
	}
	return s.db.HoldingsToEnd(ctx, load)
}

// deactivate computes the inactive job's change for an existing user: state
// inactive, every credential and certificate to its end state, every role
// withdrawn.
func (s *session) deactivate(u *domain.User, p domain.Person, h *store.Holdings) (planned, bool, error) {
	fields := map[string]any{}
	changes := identityChanges(u, p, fields)
	changes = intoState(u, domain.UserInactive, changes, fields)
	ch := &store.UserChange{UserID: u.ID}
	var counts domain.RunCounts
	if h != nil {
		var err error
		if changes, err = s.endHoldings(h, ch, changes, &counts); err != nil {
			return planned{}, false, err
		}
	}
	if len(changes) == 0 {
		return planned{}, false, nil
	}
	if len(fields) > 0 {
		fields["updated_at"] = s.now
		fields["last_synced_at"] = s.now
		ch.UserFields = fields
	}
	outcome := domain.OutcomeUpdated
	if becomesInactive(u) {
		counts.Deactivated, outcome = 1, domain.OutcomeDeactivated
	} else {
		counts.Updated = 1
	}
	ch.Item = s.nextItem(p, u, outcome)
	ch.Item.Changes = changesJSON(changes)
	return planned{change: ch, counts: counts}, true, nil
}

// becomesInactive reports whether the inactive job deactivates u: its
// state becomes inactive. A user already inactive that the job only links
// to its entry (DN, stable id, source) or whose holdings it ends is
// updated, not deactivated; the planning pass, a dry run and the run count
// by this one rule.
func becomesInactive(u *domain.User) bool { return u.State != domain.UserInactive }

// endHoldings adds to ch, changes and counts what brings every credential
// and certificate of h to its end state and withdraws every role.
func (s *session) endHoldings(h *store.Holdings, ch *store.UserChange, changes []domain.FieldChange, counts *domain.RunCounts) ([]domain.FieldChange, error) {
	for _, c := range h.Credentials {
		credTarget, certTarget, err := domain.DeactivationTarget(c.Type)
		if err != nil {
			return nil, fmt.Errorf("credential %s: %w; the user was not changed", c.Serial, err)
		}
		if c.State != credTarget {
			ch.Credentials = append(ch.Credentials, store.StateChange{ID: c.ID, State: credTarget})
			changes = append(changes, domain.FieldChange{
				Field: domain.CredentialChangeField(c.Type, c.Serial), Before: string(c.State), After: string(credTarget)})
			counts.CredentialsChanged++
		}
		for _, cert := range c.Certificates {
			next := domain.NextCertificateState(cert.State, certTarget, cert.NotAfter, s.now)
			if next == cert.State {
				continue
			}
			ch.Certificates = append(ch.Certificates, s.certificateChange(cert.ID, next, counts))
			changes = append(changes, domain.FieldChange{
				Field: domain.CertificateChangeField(cert.Serial, c.Type, c.Serial), Before: string(cert.State), After: string(next)})
		}
	}
	for _, r := range h.Roles {
		ch.WithdrawRoles = append(ch.WithdrawRoles, r.ID)
		changes = append(changes, domain.FieldChange{Field: domain.RoleChangeField(r.RoleName), Before: "assigned", After: "withdrawn"})
		counts.RolesWithdrawn++
	}
	return changes, nil
}

// certificateChange moves certificate id to next, with the reason (and
// time) a revocation or a hold records.
func (s *session) certificateChange(id string, next domain.CertificateState, counts *domain.RunCounts) store.CertificateChange {
	cc := store.CertificateChange{ID: id, State: next}
	switch next {
	case domain.CertificateRevoked:
		reason, at := domain.ReasonCessationOfOperation, s.now
		cc.Reason, cc.RevokedAt = &reason, &at
		counts.CertificatesRevoked++
	case domain.CertificateOnHold:
		reason := domain.ReasonCertificateHold
		cc.Reason = &reason
		counts.CertificatesOnHold++
	}
	return cc
}

func changesJSON(c []domain.FieldChange) string {
	b, err := json.Marshal(c)
	if err != nil {
		return ""
	}
	return string(b)
}
