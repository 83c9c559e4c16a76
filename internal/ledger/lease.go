package ledger

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Leases. With several interface machines on one PostgreSQL ledger, a
// stage run of one unit (stage, interface, period, hour or set) first
// takes that unit's lease: a row with a unique key, an owner (machine,
// pid, run), an expiry the owner's heartbeat keeps moving, and a fencing
// number that grows on every takeover. A live lease held by another owner
// refuses the run (busy: exit 3, nothing touched); a lease whose owner
// stopped renewing (the machine died) is taken over with the next fencing
// number, and the run that held the older number can no longer publish:
// Check, called just before each publish, fails for it.
//
// Expiry is written with the machine's clock (injected in tests): the
// machines keep NTP time, and a lease's TTL (minutes) is far above their
// skew. SQLite ledgers take the same leases, for one machine.

const leaseSchema = `CREATE TABLE IF NOT EXISTS chama_leases (
	unit TEXT PRIMARY KEY,
	owner TEXT NOT NULL,
	fence BIGINT NOT NULL,
	expires_at TEXT NOT NULL,
	taken_at TEXT NOT NULL
)`

// Lease is a held lease of one unit.
type Lease struct {
	Unit  string
	Owner string
	Fence int64
	TTL   time.Duration
	l     *Ledger
}

// BusyError is a unit whose lease another owner holds.
type BusyError struct {
	Unit, Owner string
	Expires     time.Time
	Fence       int64
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("%s is being run by %s (lease %d, renewed until %s): not started; safe to run again later",
		e.Unit, e.Owner, e.Fence, e.Expires.UTC().Format(time.RFC3339))
}

// FencedError is a run whose lease was taken over: it must not publish.
type FencedError struct {
	Unit, Owner, By string
	Fence, Now      int64
	// Lost: the lease expired while the ledger could not be reached (why).
	Lost string
}

func (e *FencedError) Error() string {
	switch {
	case e.Lost != "":
		return fmt.Sprintf("%s: the lease (fencing number %d) of %s expired while the ledger could not be reached (%s): another machine may hold it now; stopped, nothing more published",
			e.Unit, e.Fence, e.Owner, e.Lost)
	case e.Now > e.Fence && e.By != "":
		return fmt.Sprintf("%s: the lease of %s (fencing number %d) was taken over by %s (fencing number %d): this run's work is stale and was not published",
			e.Unit, e.Owner, e.Fence, e.By, e.Now)
	case e.Now > e.Fence:
		return fmt.Sprintf("%s: the lease of %s (fencing number %d) was taken over (fencing number now %d): this run's work is stale and was not published",
			e.Unit, e.Owner, e.Fence, e.Now)
	}
	return fmt.Sprintf("%s: the lease (fencing number %d) of %s was released or lost: nothing published", e.Unit, e.Fence, e.Owner)
}

// Unit is the lease key of a stage run: stage/iface/period[/hour][/target].
func Unit(r Run) string {
	parts := []string{r.Stage, r.Iface, r.Period}
	if r.Hour != "" && !strings.HasSuffix(r.Period, r.Hour) {
		parts = append(parts, r.Hour)
	}
	if r.Target != "" {
		parts = append(parts, r.Target)
	}
	return strings.Join(parts, "/")
}

// Owner names this process as a lease holder: machine:pid:run.
// A random tag ends it: two processes of one name (containers with a
// fixed hostname run as pid 1; a scheduler's retry keeps its run id) must
// never share a lease.
func (l *Ledger) Owner(runID string) string {
	return fmt.Sprintf("%s:%d:%s:%s", l.machine, os.Getpid(), runID, ownerTag)
}

// ownerTag is this process's random part of its lease owner names.
var ownerTag = func() string {
	var b [3]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}()

// leaseCallTimeout bounds each lease statement of the heartbeat and the
// release: a database that stopped answering must not hang the run.
const leaseCallTimeout = 30 * time.Second

// Acquire takes unit's lease for owner for ttl: a new unit, a released
// lease or an expired one (its holder stopped renewing) is taken, the
// fencing number one above the last; a live lease of another owner is a
// *BusyError. Taking one's own live lease again renews it.
func (l *Ledger) Acquire(ctx context.Context, unit, owner string, ttl time.Duration) (*Lease, error) {
	if ttl <= 0 {
		return nil, fmt.Errorf("ledger: lease ttl %s", ttl)
	}
	now := l.Now()
	var fence int64
	// One statement: PostgreSQL and SQLite both apply an upsert whose
	// update is conditional atomically, so two machines racing for a
	// unit cannot both get it.
	err := l.db.QueryRowContext(ctx, l.rebind(`INSERT INTO chama_leases (unit, owner, fence, expires_at, taken_at)
		VALUES (?, ?, 1, ?, ?)
		ON CONFLICT (unit) DO UPDATE SET
			fence = CASE WHEN chama_leases.owner = excluded.owner THEN chama_leases.fence ELSE chama_leases.fence + 1 END,
			owner = excluded.owner, expires_at = excluded.expires_at,
			taken_at = CASE WHEN chama_leases.owner = excluded.owner THEN chama_leases.taken_at ELSE excluded.taken_at END
		WHERE chama_leases.owner = excluded.owner OR chama_leases.owner = '' OR chama_leases.expires_at < ?
		RETURNING fence`), unit, owner, ts(now.Add(ttl)), ts(now), ts(now)).Scan(&fence)
	if errors.Is(err, sql.ErrNoRows) {
		r, qerr := l.leaseRow(ctx, unit)
		if qerr != nil {
			return nil, fmt.Errorf("ledger: lease %s: %w", unit, qerr)
		}
		return nil, &BusyError{Unit: unit, Owner: r.Owner, Fence: r.Fence, Expires: r.Expires}
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: lease %s: %w", unit, l.scrub(err))
	}
	return &Lease{Unit: unit, Owner: owner, Fence: fence, TTL: ttl, l: l}, nil
}

// Renew moves the lease's expiry to now+TTL; a lease taken over or
// released meanwhile is a *FencedError.
func (s *Lease) Renew(ctx context.Context) error {
	l := s.l
	out, err := l.db.ExecContext(ctx, l.rebind(`UPDATE chama_leases SET expires_at = ? WHERE unit = ? AND owner = ? AND fence = ?`),
		ts(l.Now().Add(s.TTL)), s.Unit, s.Owner, s.Fence)
	if err != nil {
		return fmt.Errorf("ledger: renew lease %s: %w", s.Unit, l.scrub(err))
	}
	if n, _ := out.RowsAffected(); n != 1 {
		return s.fenced(ctx)
	}
	return nil
}

// Check is the fencing check before a publish: the lease must still be
// this run's, with the same fencing number, and not expired. It renews
// the lease too, so that the publish that follows runs with a full TTL
// ahead of it.
func (s *Lease) Check(ctx context.Context) error {
	var fe *FencedError
	if errors.As(context.Cause(ctx), &fe) {
		return fe // the heartbeat found the lease taken over and stopped the run
	}
	r, err := s.l.leaseRow(ctx, s.Unit)
	if err != nil {
		return fmt.Errorf("ledger: check lease %s: %w", s.Unit, err)
	}
	if r.Owner != s.Owner || r.Fence != s.Fence || !r.Expires.After(s.l.Now()) {
		return s.fencedBy(r)
	}
	return s.Renew(ctx)
}

// leaseRow reads unit's lease as stored.
func (l *Ledger) leaseRow(ctx context.Context, unit string) (LeaseRow, error) {
	r := LeaseRow{Unit: unit}
	var exp, taken string
	err := l.db.QueryRowContext(ctx, l.rebind(`SELECT owner, fence, expires_at, taken_at FROM chama_leases WHERE unit = ?`), unit).
		Scan(&r.Owner, &r.Fence, &exp, &taken)
	r.Expires, r.Taken = parseTS(exp), parseTS(taken)
	return r, l.scrub(err)
}

// fenced describes why the lease is no longer this run's, as stored now.
func (s *Lease) fenced(ctx context.Context) error {
	r, err := s.l.leaseRow(context.WithoutCancel(ctx), s.Unit)
	if err != nil {
		return &FencedError{Unit: s.Unit, Owner: s.Owner, Fence: s.Fence}
	}
	return s.fencedBy(r)
}

// fencedBy is the FencedError of the lease now stored as r.
func (s *Lease) fencedBy(r LeaseRow) error {
	e := &FencedError{Unit: s.Unit, Owner: s.Owner, Fence: s.Fence}
	if r.Fence != s.Fence {
		e.By, e.Now = r.Owner, r.Fence
	}
	return e
}

// Release gives the lease up (the row stays, with its fencing number, so
// the next holder's number is higher). Releasing a lease no longer held
// does nothing.
func (s *Lease) Release(ctx context.Context) error {
	l := s.l
	_, err := l.db.ExecContext(ctx, l.rebind(`UPDATE chama_leases SET owner = '', expires_at = ? WHERE unit = ? AND owner = ? AND fence = ?`),
		ts(l.Now()), s.Unit, s.Owner, s.Fence)
	if err != nil {
		return fmt.Errorf("ledger: release lease %s: %w", s.Unit, l.scrub(err))
	}
	return nil
}

// LeaseRow is one lease as stored, for status.
type LeaseRow struct {
	Unit, Owner string
	Fence       int64
	Expires     time.Time
	Taken       time.Time
}

// Leases lists the leases whose unit starts with prefix ("" for all).
func (l *Ledger) Leases(ctx context.Context, prefix string) ([]LeaseRow, error) {
	rows, err := l.db.QueryContext(ctx, l.rebind(`SELECT unit, owner, fence, expires_at, taken_at FROM chama_leases WHERE unit LIKE ? ESCAPE '\' ORDER BY unit`),
		likePrefix(prefix))
	if err != nil {
		return nil, fmt.Errorf("ledger: leases: %w", l.scrub(err))
	}
	defer rows.Close()
	var out []LeaseRow
	for rows.Next() {
		var r LeaseRow
		var exp, taken string
		if err := rows.Scan(&r.Unit, &r.Owner, &r.Fence, &exp, &taken); err != nil {
			return nil, err
		}
		r.Expires, r.Taken = parseTS(exp), parseTS(taken)
		out = append(out, r)
	}
	return out, rows.Err()
}

// likePrefix is a LIKE pattern matching strings that start with p.
func likePrefix(p string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(p) + "%"
}

// Held is a lease kept alive by a heartbeat until Stop.
type Held struct {
	*Lease
	stop   chan struct{}
	done   chan struct{}
	cancel context.CancelCauseFunc
}

// Hold takes unit's lease and renews it every every (default TTL/3) until
// Stop. When a renewal finds the lease taken over, the heartbeat stops
// and cancels the returned context with that *FencedError as its cause,
// so the run stops working for nothing; Check still guards the publish.
// A renewal that fails for another reason (the database unreachable) is
// retried at the next beat, until the lease's expiry has passed without
// one: the run must then assume another machine took it, and is
// cancelled the same way (it fences itself).
func (l *Ledger) Hold(ctx context.Context, unit, owner string, ttl, every time.Duration) (context.Context, *Held, error) {
	s, err := l.Acquire(ctx, unit, owner, ttl)
	if err != nil {
		return ctx, nil, err
	}
	if every <= 0 {
		every = ttl / 3
	}
	ctx, cancel := context.WithCancelCause(ctx)
	h := &Held{Lease: s, stop: make(chan struct{}), done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(h.done)
		t := time.NewTicker(every)
		defer t.Stop()
		renewed := l.Now()
		for {
			select {
			case <-h.stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				rctx, cancelRenew := context.WithTimeout(context.WithoutCancel(ctx), leaseCallTimeout)
				err := s.Renew(rctx)
				cancelRenew()
				var fe *FencedError
				switch {
				case errors.As(err, &fe):
					cancel(err)
					return
				case err == nil:
					renewed = l.Now()
				case !l.Now().Before(renewed.Add(ttl)):
					cancel(&FencedError{Unit: s.Unit, Owner: s.Owner, Fence: s.Fence, Lost: err.Error()})
					return
				}
			}
		}
	}()
	return ctx, h, nil
}

// Stop ends the heartbeat and releases the lease.
func (h *Held) Stop(ctx context.Context) error {
	close(h.stop)
	<-h.done
	defer h.cancel(nil)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaseCallTimeout)
	defer cancel()
	return h.Release(rctx)
}

// Number is the held lease's fencing number and owner (fence.Numbered).
func (s *Lease) Number() (int64, string) { return s.Fence, s.Owner }
