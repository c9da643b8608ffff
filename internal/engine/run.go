package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"

	"idm/internal/directory"
	"idm/internal/domain"
	"idm/internal/store"
)

// runner carries one run from its checks to its end.
type runner struct {
	e    *Engine
	run  *domain.Run
	opts RunOptions
	log  *slog.Logger
	// note is added to the final message (the threshold permission used).
	note string
	// password is the bind password, for the second connection that counts.
	password string
	// referrals is how many continuation references the write pass's
	// search returned and the run did not follow.
	referrals int
}

// storeError marks a failure of the database inside a search callback, so
// that it is not mistaken for a directory failure.
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

func (r *runner) finish(status domain.RunStatus, msg string) {
	r.run.Status = status
	r.run.Message = msg
	t := r.e.now()
	r.run.FinishedAt = &t
}

// stop ends the run before any change: aborted when ctx ended, else stopped
// by the safety check code (domain.StopReasons) with reason.
func (r *runner) stop(ctx context.Context, code, reason string) {
	if ctx.Err() != nil {
		r.finish(domain.RunAborted, "Aborted before any change: the run was cancelled. Nothing was changed.")
		return
	}
	r.finish(domain.RunSafetyStop, "Stopped by a safety check: "+reason+" Nothing was changed.")
	r.run.StopReason = code
}

func (r *runner) execute(ctx context.Context) {
	settings, err := r.e.db.LDAPSettings(ctx)
	if err != nil {
		r.finish(domain.RunFailed, fmt.Sprintf("Failed: the LDAP settings could not be loaded (%v). Nothing was changed.", err))
		return
	}
	if !settings.Configured() {
		r.finish(domain.RunFailed, "Failed: the LDAP connection is not configured; set its URL and base DN on the LDAP connection page (or with idm ldap configure). Nothing was changed.")
		return
	}
	password, err := r.e.openSecret(settings.BindPasswordEnc)
	if err != nil {
		r.finish(domain.RunFailed, fmt.Sprintf("Failed: the bind password cannot be decrypted (%v); save it again on the LDAP connection page. Nothing was changed.", err))
		return
	}
	src, err := r.e.dial(ctx, settings, password)
	if err != nil {
		r.stop(ctx, domain.StopDirectoryUnreachable, fmt.Sprintf("the directory could not be reached: %v.", err))
		return
	}
	defer func() {
		if err := src.Close(); err != nil {
			r.log.Debug("closing the directory connection", "err", err)
		}
	}()

	// Once per run, from the engine's clock: the planning pass, the count
	// and the write pass search for the same people.
	filter := settings.JobFilter(r.run.JobKey, r.e.now())
	r.password = password
	if r.run.JobKey == domain.JobInactive && !r.checkDeactivations(ctx, src, filter, &settings) {
		return
	}
	r.write(ctx, src, filter, &settings)
}

// countResult is what the count of the active filter found.
type countResult struct {
	n   int
	err error
}

// startCount counts what filter finds on a second connection, alongside
// the write pass: it gives the expected total for progress and, for the
// active job, the figure of the shrink check. stop cancels the count and
// waits for it to return.
func (r *runner) startCount(ctx context.Context, s *domain.LDAPSettings, filter string) (result <-chan countResult, stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	ch := make(chan countResult, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		src, err := r.e.dial(ctx, *s, r.password)
		if err != nil {
			ch <- countResult{err: err}
			return
		}
		defer src.Close()
		n, err := src.Count(ctx, filter)
		ch <- countResult{n: n, err: err}
	}()
	return ch, func() { cancel(); <-done }
}

// shrinkStop is returned from the search callback when the shrink check
// fails, to end the search; code is the safety stop's reason code.
type shrinkStop struct{ code, reason string }

func (e *shrinkStop) Error() string { return e.reason }

// shrinkCheck decides the active job's shrink check on the count n against
// the last successful run; it returns the reason to stop, or "".
func shrinkCheck(n int, last *domain.Run, s *domain.LDAPSettings) string {
	if last == nil || last.Read <= 0 || n >= last.Read || (last.Read-n)*100 <= s.ShrinkMaxPercent*last.Read {
		return ""
	}
	return fmt.Sprintf(
		"the directory returned %d entries for the active filter, %d%% fewer than the %d of the last successful run (%s); the limit is %d%%. Check the directory and the filter; if the drop is real, raise the limit on the LDAP connection page.",
		n, (last.Read-n)*100/last.Read, last.Read, last.StartedAt.UTC().Format("2006-01-02 15:04 MST"), s.ShrinkMaxPercent)
}

// checkDeactivations streams the inactive filter's whole result once,
// read-only, and stops the run when the search fails or when it would
// deactivate more users than the limit without an administrator's one-time
// permission.
func (r *runner) checkDeactivations(ctx context.Context, src Source, filter string, s *domain.LDAPSettings) bool {
	r.progressMessage(ctx, "Checking how many users the run would deactivate")
	sess := newSession(r.e.db, domain.JobInactive, r.run.ID, true, r.e.now())
	sess.countOnly = true
	err := src.Search(ctx, filter, s.AttributeMap, func(page []directory.Entry) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		plan, err := sess.plan(ctx, page)
		if err != nil {
			return &storeError{err}
		}
		for _, p := range plan {
			sess.counts.Add(p.counts)
		}
		r.progressMessage(ctx, fmt.Sprintf("Checking how many users the run would deactivate: %d entries read", sess.counts.Read))
		return nil
	})
	var se *storeError
	switch {
	case errors.As(err, &se) && ctx.Err() == nil:
		r.finish(domain.RunFailed, fmt.Sprintf("Failed: %v. Nothing was changed.", se.err))
		return false
	case err != nil:
		r.stop(ctx, domain.StopSearchFailed, fmt.Sprintf("the directory search failed: %v.", err))
		return false
	}
	r.run.ExpectedTotal = sess.counts.Read
	would := sess.counts.Deactivated
	active, err := r.e.db.CountUsers(ctx, domain.UserActive, "")
	if err != nil {
		r.finish(domain.RunFailed, fmt.Sprintf("Failed: %v. Nothing was changed.", err))
		return false
	}
	limit := s.DeactivationLimit(active)
	over := would > limit
	overMsg := fmt.Sprintf("this run would deactivate %d users, more than the limit of %d (%s).",
		would, limit, s.DeactivationLimitRule(active))
	switch {
	case over && !s.AllowNextPastThreshold:
		r.run.Read = sess.counts.Read // a stopped run shows what its planning pass read
		r.stop(ctx, domain.StopDeactivationLimit, overMsg+" If this is expected, an administrator can allow the next run past the limit, once: "+
			"on the LDAP connection page (Allow the next inactive run past the threshold) or with idm ldap allow-next-run.")
		return false
	case over && r.opts.DryRun:
		r.note = fmt.Sprintf(" A real run would deactivate %d users, more than the limit of %d, using the administrator's permission to pass it.", would, limit)
	case s.AllowNextPastThreshold && !r.opts.DryRun:
		// The permission is for the next run, used or not: it must not
		// linger until a mass deactivation nobody expected.
		used, err := r.e.db.ConsumeThresholdOverride(ctx, r.run.ID)
		if err != nil {
			r.finish(domain.RunFailed, fmt.Sprintf("Failed: %v. Nothing was changed.", err))
			return false
		}
		if over && !used {
			r.run.Read = sess.counts.Read
			r.stop(ctx, domain.StopDeactivationLimit, overMsg+" The administrator's permission to pass the limit was already used by another run.")
			return false
		}
		if over {
			r.note = fmt.Sprintf(" It deactivated more than the limit of %d users with an administrator's one-time permission, now used up.", limit)
		}
	}
	return true
}

// write streams the result and applies it page by page.
//
// For the active job, the count of the filter runs alongside on a second
// connection (a separate count pass before the search would add a fourth
// of a directory read to every run). When there is a last successful run to
// compare with, the planned changes are held back until the count arrives
// and the shrink check passes, so that a stopped run has written nothing;
// an unchanged user plans no change, so a repeated run holds back nothing.
func (r *runner) write(ctx context.Context, src Source, filter string, s *domain.LDAPSettings) {
	w := &pageWriter{r: r, s: s, sess: newSession(r.e.db, r.run.JobKey, r.run.ID, r.opts.DryRun, r.e.now())}
	if r.run.JobKey == domain.JobActive {
		last, err := r.e.db.LastSuccessfulRun(ctx, domain.JobActive)
		if err != nil {
			r.finish(domain.RunFailed, fmt.Sprintf("Failed: %v. Nothing was changed.", err))
			return
		}
		w.last, w.gated = last, last != nil && last.Read > 0
		var stopCount func()
		w.counted, stopCount = r.startCount(ctx, s, filter)
		defer stopCount()
		r.progressMessage(ctx, "Reading the directory")
	}
	before := referralCount(src)
	err := r.pipeline(ctx, src, filter, s, func(page []directory.Entry) error { return w.handle(ctx, page) })
	r.referrals = referralCount(src) - before
	if err == nil && w.counted != nil {
		select {
		case res := <-w.counted:
			err = w.resolve(ctx, res)
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	w.end(ctx, err)
}

// pageWriter is the write pass of one run: it plans each page and writes
// it, or holds it back while the active job's shrink check waits for the
// count.
type pageWriter struct {
	r    *runner
	s    *domain.LDAPSettings
	sess *session
	// changedUsers is how many users the pass has changed so far.
	changedUsers int

	// counted delivers the count of the active filter; nil once taken (and
	// for the inactive job, which checked before writing).
	counted <-chan countResult
	// last is the last successful run, which the count is compared with.
	last *domain.Run
	// gated holds changes back until the shrink check passes; held are
	// the pages of changes held back so far.
	gated bool
	held  [][]planned
}

// handle plans one page and writes (or holds) its changes, then records
// the run's progress.
func (w *pageWriter) handle(ctx context.Context, page []directory.Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r, sess := w.r, w.sess
	sess.now = r.e.now()
	plan, err := sess.plan(ctx, page)
	if err != nil {
		return &storeError{err}
	}
	if w.counted != nil {
		select {
		case res := <-w.counted:
			if err := w.resolve(ctx, res); err != nil {
				return err
			}
		default:
		}
	}
	if w.gated {
		if len(plan) > 0 {
			w.held = append(w.held, plan)
		}
	} else if err := w.apply(ctx, plan); err != nil {
		return err
	}
	r.run.RunCounts = sess.counts
	r.run.HeartbeatAt = r.e.now()
	r.run.Message = fmt.Sprintf("Read %d of %d entries", sess.counts.Read, max(r.run.ExpectedTotal, sess.counts.Read))
	if err := r.e.db.UpdateRunProgress(ctx, r.run); err != nil {
		return &storeError{err}
	}
	r.e.publish(r.run)
	if r.opts.Progress != nil {
		r.opts.Progress(*r.run)
	}
	return nil
}

// resolve takes the count: it stops the run (shrinkStop) or releases the
// held-back changes.
func (w *pageWriter) resolve(ctx context.Context, res countResult) error {
	w.counted = nil
	if res.err != nil {
		if w.gated {
			return &shrinkStop{domain.StopSearchFailed, fmt.Sprintf("the directory search failed: %v.", res.err)}
		}
		w.r.log.Warn("counting the directory entries failed; the run goes on without an expected total", "err", res.err)
		return nil
	}
	w.r.run.ExpectedTotal = res.n
	if !w.gated {
		return nil
	}
	if reason := shrinkCheck(res.n, w.last, w.s); reason != "" {
		return &shrinkStop{domain.StopDirectoryShrank, reason}
	}
	w.gated = false
	for _, plan := range w.held {
		if err := w.apply(ctx, plan); err != nil {
			return err
		}
	}
	w.held = nil
	return nil
}

// apply writes one page's planned changes.
func (w *pageWriter) apply(ctx context.Context, plan []planned) error {
	n, err := w.r.apply(ctx, w.sess, plan)
	w.changedUsers += n
	if err != nil {
		return &storeError{err}
	}
	return nil
}

// end records how the pass ended: stopped by the shrink check, broken off,
// or through (then the orphans are reported).
func (w *pageWriter) end(ctx context.Context, err error) {
	r, sess := w.r, w.sess
	r.run.RunCounts = sess.counts
	var stop *shrinkStop
	if errors.As(err, &stop) && ctx.Err() == nil {
		r.run.RunCounts = domain.RunCounts{Read: sess.counts.Read}
		r.stop(ctx, stop.code, stop.reason)
		return
	}
	if err != nil {
		r.writeFailed(ctx, err, w.changedUsers)
		return
	}
	if err := r.orphans(ctx, sess); err != nil {
		r.writeFailed(ctx, &storeError{err}, w.changedUsers)
		return
	}
	status := domain.RunSucceeded
	if sess.counts.Errors > 0 {
		status = domain.RunSucceededWithErrors
	}
	r.finish(status, summary(status, r.run, r.opts.DryRun)+referralNote(r.referrals)+r.note)
}

// referralCounter is a Source that counts the continuation references
// (referrals) its searches returned; *directory.Conn is one.
type referralCounter interface{ Referrals() int }

func referralCount(src Source) int {
	if rc, ok := src.(referralCounter); ok {
		return rc.Referrals()
	}
	return 0
}

// referralNote tells the run's reader about the referrals it ignored: the
// jobs read one directory, and a base DN below the referred partitions
// (an OU) avoids them.
func referralNote(n int) string {
	switch n {
	case 0:
		return ""
	case 1:
		return " The directory also returned 1 continuation reference (referral); it was not followed."
	}
	return fmt.Sprintf(" The directory also returned %d continuation references (referrals); they were not followed.", n)
}

// errPipelineStopped ends the search when the page handler has failed; the
// handler's own error is what the run reports.
var errPipelineStopped = errors.New("engine: page handler stopped")

// pipeline runs the paged search and hands each page to handle in a second
// goroutine, so that the directory sends the next page while the database
// takes this one: a run then costs about the longer of the two instead of
// their sum. At most one page waits between them, so memory stays bounded
// by a few pages. Pages are handled one at a time, in order. handle's error
// (or panic) stops the search and is returned in preference to the
// search's own error.
func (r *runner) pipeline(ctx context.Context, src Source, filter string, s *domain.LDAPSettings, handle func([]directory.Entry) error) error {
	pages := make(chan []directory.Entry, 1)
	stopped := make(chan struct{})
	done := make(chan struct{})
	var herr error
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				r.log.Error("page handler panicked", "panic", p, "stack", string(debug.Stack()))
				herr = fmt.Errorf("internal error: %v", p)
				close(stopped)
				for range pages {
				}
			}
		}()
		for page := range pages {
			if err := handle(page); err != nil {
				herr = err
				close(stopped)
				for range pages {
				}
				return
			}
		}
	}()
	err := src.Search(ctx, filter, s.AttributeMap, func(page []directory.Entry) error {
		select {
		case <-stopped:
			return errPipelineStopped
		case pages <- page:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(pages)
	<-done
	if herr != nil {
		return herr
	}
	return err
}

// apply writes one page's changes (or, for a dry run, only its items) and
// adds the figures of what was written to the session's counts. It returns
// how many users were changed.
func (r *runner) apply(ctx context.Context, sess *session, plan []planned) (int, error) {
	changes := make([]*store.UserChange, len(plan))
	for i, p := range plan {
		changes[i] = p.change
	}
	if r.opts.DryRun {
		items := make([]domain.RunItem, 0, len(plan))
		for _, p := range plan {
			items = append(items, *p.change.Item)
			sess.counts.Add(p.counts)
		}
		return 0, r.e.db.AddRunItems(ctx, items)
	}
	failed, err := r.e.db.ApplyChanges(ctx, changes, sess.now, r.run.ID)
	if err != nil {
		return 0, err
	}
	bad := make(map[*store.UserChange]error, len(failed))
	for _, f := range failed {
		bad[f.Change] = f.Err
	}
	changed := 0
	var errItems []domain.RunItem
	for _, p := range plan {
		if ferr, ok := bad[p.change]; ok {
			it := *p.change.Item
			it.Outcome, it.Changes = domain.OutcomeError, ""
			it.Error = "the change could not be written: " + ferr.Error()
			if p.change.Create != nil {
				it.UserID = nil
			}
			errItems = append(errItems, it)
			sess.counts.Errors++
			r.log.Warn("user change failed", "username", it.Username, "dn", it.DN, "err", ferr)
			continue
		}
		sess.counts.Add(p.counts)
		if p.enters {
			sess.inState++
		}
		if p.change.Create != nil || p.change.UserID != "" {
			changed++
		}
	}
	if err := r.e.db.AddRunItems(ctx, errItems); err != nil {
		return changed, err
	}
	return changed, nil
}

// writeFailed ends a run whose write pass broke off.
func (r *runner) writeFailed(ctx context.Context, err error, changed int) {
	done := fmt.Sprintf("%d users were changed before that, each completely (no user is half-changed); the next run continues from there.", changed)
	var se *storeError
	switch {
	case ctx.Err() != nil:
		r.finish(domain.RunAborted, fmt.Sprintf("Aborted: the run was cancelled after %d entries. %s", r.run.Read, done))
	case errors.As(err, &se):
		r.finish(domain.RunFailed, fmt.Sprintf("Failed: %v after %d entries. %s", se.err, r.run.Read, done))
	case changed == 0:
		r.stop(ctx, domain.StopSearchFailed, fmt.Sprintf("the directory search failed after %d entries: %v.", r.run.Read, err))
	default:
		r.finish(domain.RunFailed, fmt.Sprintf("Failed: the directory search failed after %d entries: %v. %s", r.run.Read, err, done))
	}
}

// orphans reports the users that came from the directory and are in the
// job's state, but that this run's search did not return. They are walked
// in chunks; only the ids seen by the run are held in memory.
//
// The walk reads every such user, a sizeable part of a run that changes
// nothing, so it is skipped when it cannot find anything: when the store
// holds exactly as many such users as the run saw in that state
// (session.inState never overstates that figure, so equal counts mean every
// one of them was seen). Any difference, whatever its cause, walks and
// decides each user exactly.
func (r *runner) orphans(ctx context.Context, sess *session) error {
	state := sess.jobState()
	n, err := r.e.db.CountUsers(ctx, state, domain.SourceLDAP)
	if err != nil {
		return err
	}
	if n == sess.inState {
		return nil
	}
	r.log.Debug("walking the users for orphans", "in_store", n, "seen", sess.inState)
	return r.e.db.EachUser(ctx, store.UserFilter{State: state, Source: domain.SourceLDAP, Columns: []string{"username", "dn"}}, 2000, func(users []domain.User) error {
		var items []domain.RunItem
		for _, u := range users {
			if sess.seenUsers.Has(u.ID) {
				continue
			}
			it := sess.nextItem(domain.Person{Username: u.Username, DN: u.DN}, &u, domain.OutcomeOrphan)
			it.Error = fmt.Sprintf("the %s filter no longer returns this user; it was not changed", r.run.JobKey)
			items = append(items, *it)
			sess.counts.Orphans++
		}
		r.run.RunCounts = sess.counts
		return r.e.db.AddRunItems(ctx, items)
	})
}

// progressMessage records what the run is doing while it has no counts to
// show yet.
func (r *runner) progressMessage(ctx context.Context, msg string) {
	r.run.Message = msg
	r.run.HeartbeatAt = r.e.now()
	if err := r.e.db.UpdateRunProgress(ctx, r.run); err != nil && ctx.Err() == nil {
		r.log.Warn("could not record run progress", "err", err)
	}
	r.e.publish(r.run)
	if r.opts.Progress != nil {
		r.opts.Progress(*r.run)
	}
}

// summary says in one sentence how the run went.
func summary(status domain.RunStatus, run *domain.Run, dryRun bool) string {
	c := run.RunCounts
	var b strings.Builder
	if dryRun {
		b.WriteString("Dry run, nothing was written: ")
	}
	if status == domain.RunSucceededWithErrors {
		b.WriteString("Succeeded with errors. ")
	} else {
		b.WriteString("Succeeded. ")
	}
	fmt.Fprintf(&b, "Read %d, created %d, updated %d, unchanged %d", c.Read, c.Created, c.Updated, c.Unchanged)
	if run.JobKey == domain.JobInactive {
		fmt.Fprintf(&b, ", deactivated %d (credentials changed %d, certificates on hold %d, revoked %d, roles withdrawn %d)",
			c.Deactivated, c.CredentialsChanged, c.CertificatesOnHold, c.CertificatesRevoked, c.RolesWithdrawn)
	}
	fmt.Fprintf(&b, ", errors %d, orphans %d.", c.Errors, c.Orphans)
	return b.String()
}
