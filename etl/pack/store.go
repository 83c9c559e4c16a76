package pack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/chama-data/chama/internal/chunkstore"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/fence"
	"github.com/chama-data/chama/internal/logkey"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/naming"
	"github.com/chama-data/chama/transfer/pull"
)

// checkFence is the fencing check before a publish: a run whose lease
// another machine took over (or that lost it) publishes nothing; running
// again is safe (exit 3), the new holder does the work.
func checkFence(ctx context.Context, where string) error {
	if err := fence.Check(ctx); err != nil {
		return exit.With(exit.Partial, fmt.Errorf("%s: not published: %w", where, err))
	}
	return nil
}

// fencedStop is err of a run whose lease's heartbeat stopped it (the
// lease taken over, or lost with the ledger): exit 3, with that reason
// rather than "context canceled".
func fencedStop(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if cause := context.Cause(ctx); cause != nil && cause != ctx.Err() && (errors.Is(err, context.Canceled) || errors.Is(err, cause)) {
		return exit.With(exit.Partial, fmt.Errorf("stopped: %w", cause))
	}
	return err
}

// A shared chunk store (config chunk_store, internal/chunkstore) lets
// several machines pack the hours of one day: an hour packed anywhere is
// put in the store; an hour task finds an hour the store holds done; a
// day is assembled, on any machine, from the store's chunks, fetched into
// the local chunks folder first. The local chunk folder of an hour is
// then a copy of one store version, named in its storeMark file.

// HookBeforeStorePut, when set (tests only: the two-machine tests stall
// a chama process here to kill or freeze it), runs before an hour chunk
// packed here is put in the store.
var HookBeforeStorePut func(iface, hour string)

// storeMark names, in a local chunk folder, the store version it holds
// (hidden: never put in the store itself).
const storeMark = ".chama-store-version"

// packHour packs one hour into its chunk. With a store, an hour the store
// already holds is not packed again (unless o.Repack): its chunk is
// fetched; otherwise the chunk is packed here and put in the store under
// the run's lease.
func packHour(ctx context.Context, o Options) (*manifest.Manifest, pull.InputOf, error) {
	if o.Store == nil {
		return packChunk(ctx, o)
	}
	var none pull.InputOf
	if !o.Repack {
		v, err := o.Store.Latest(ctx, o.Iface.Name, o.Period.String())
		if err != nil {
			return nil, none, storeErr(err)
		}
		if v != nil {
			m, in, err := syncChunk(ctx, o, v)
			if err == nil {
				o.logger(o.Period).Info("hour already in the chunk store: fetched, not packed again (--repack packs it anyway)",
					"store", o.Store.String(), "version", v.Name, "packed_by", v.Owner)
			}
			return m, in, err
		}
	}
	m, in, err := packChunk(ctx, o)
	if err != nil {
		return nil, none, err
	}
	if err := storePut(ctx, o); err != nil {
		return nil, none, err
	}
	return m, in, nil
}

// logger is o.Log (or a discarding one) with the interface and period p.
func (o Options) logger(p naming.Period) *slog.Logger {
	l := o.Log
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return l.With(logkey.Iface, o.Iface.Name, logkey.Period, p.String())
}

// storePut puts the hour's local chunk in the store as a version named by
// the run's fencing number; the lease is checked before it is committed.
func storePut(ctx context.Context, o Options) error {
	if HookBeforeStorePut != nil {
		HookBeforeStorePut(o.Iface.Name, o.Period.String())
	}
	dir := chunkDir(o.Config, o.Iface.Name, o.Period)
	// The hour's lock, so that no refresh on this machine swaps the folder
	// (a fetch) while it is being copied.
	unlock, err := lockPeriod(filepath.Dir(dir), o.Period.String())
	if err != nil {
		return exit.With(exit.Partial, fmt.Errorf("interface %s hour %s: %w", o.Iface.Name, o.Period, err))
	}
	defer unlock()
	n, owner, _ := fence.Number(ctx)
	v, err := o.Store.Put(ctx, o.Iface.Name, o.Period.String(), dir, n, owner, fence.Check)
	if err != nil {
		return exit.With(exit.Partial, fmt.Errorf("interface %s hour %s: the chunk is packed here but not in the chunk store: %w", o.Iface.Name, o.Period, err))
	}
	o.logger(o.Period).Info("hour chunk put in the chunk store", "store", o.Store.String(), "version", v.Name)
	return os.WriteFile(filepath.Join(dir, storeMark), []byte(v.Name), 0o644)
}

// syncChunk makes the local chunk folder of v's hour a copy of v (fetched
// unless it is one already) and reads its manifest.
func syncChunk(ctx context.Context, o Options, v *chunkstore.Version) (*manifest.Manifest, pull.InputOf, error) {
	var none pull.InputOf
	hour := naming.MustPeriod(v.Hour)
	dir := chunkDir(o.Config, o.Iface.Name, hour)
	if mark, err := os.ReadFile(filepath.Join(dir, storeMark)); err != nil || string(mark) != v.Name || !sameSizes(dir, v) {
		parent := filepath.Dir(dir)
		if err := mkdirAllSynced(parent); err != nil {
			return nil, none, err
		}
		unlock, err := lockPeriod(parent, hour.String())
		if err != nil {
			return nil, none, fmt.Errorf("interface %s hour %s: %w", o.Iface.Name, hour, err)
		}
		err = o.Store.Fetch(ctx, v, dir)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, storeMark), []byte(v.Name), 0o644)
		}
		unlock()
		if err != nil {
			// The store's storage failing (NFS, HDFS): may pass; run again.
			return nil, none, exit.With(exit.Partial, err)
		}
	}
	m, err := manifest.Read(dir)
	if err != nil {
		return nil, none, fmt.Errorf("interface %s hour %s: chunk from the store (version %s by %s): %w", o.Iface.Name, hour, v.Name, v.Owner, err)
	}
	in, _ := readInputOf(dir)
	return m, in, nil
}

// sameSizes reports whether the local copy of v still has v's files at
// their sizes (a cheap check before trusting the mark).
func sameSizes(dir string, v *chunkstore.Version) bool {
	for _, f := range v.Files {
		st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil || st.Size() != f.Bytes {
			return false
		}
	}
	return true
}

// storeErr is an error of the store's storage: exit 3 (may pass) unless
// it carries its own code.
func storeErr(err error) error {
	if err == nil || exit.Code(err) != exit.Failure {
		return err
	}
	return exit.With(exit.Partial, err)
}

// storeChunk is readChunks' step for one hour with a store: the store's
// version, fetched; an hour the store lacks is packed here under its
// own lease (busy: another machine is packing it) when the day is
// assembled whole, and ends the known prefix otherwise (ok false).
func (b *dayBuild) storeChunk(ctx context.Context, h naming.Period) (m *manifest.Manifest, ok bool, err error) {
	o := b.o
	v, err := o.Store.Latest(ctx, o.Iface.Name, h.String())
	if err != nil {
		return nil, false, storeErr(err)
	}
	if v == nil && !b.full {
		return nil, false, nil
	}
	if v == nil {
		// In no store yet: pack it here, holding the hour's lease, so that
		// an hour another machine is packing is waited for, not packed twice.
		hctx, release := ctx, func() {}
		if o.ClaimHour != nil {
			if hctx, release, err = o.ClaimHour(ctx, h); err != nil {
				return nil, false, fmt.Errorf("%s: hour %s is in no chunk store yet: %w", b.where, h.Hour(), err)
			}
		}
		defer release()
		ho := o
		ho.Period = h
		b.log.Info("hour in no chunk store yet: packing it here before assembling the day", "hour", h.Hour())
		if m, _, err = packHour(hctx, ho); err != nil {
			return nil, false, err
		}
		b.res.Packed = append(b.res.Packed, h.Hour())
		if v, err = o.Store.Latest(ctx, o.Iface.Name, h.String()); err != nil || v == nil {
			return nil, false, exit.With(exit.Partial, fmt.Errorf("%s: hour %s: packed, but not found in the chunk store after: %v", b.where, h.Hour(), err))
		}
	} else if m, _, err = syncChunk(ctx, o, v); err != nil {
		return nil, false, err
	}
	b.res.Chunks = append(b.res.Chunks, h.Hour()+"="+v.Name+"@"+v.Owner)
	return m, true, nil
}
