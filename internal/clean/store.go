package clean

import (
	"context"
	"fmt"
	"time"

	"github.com/chama-data/chama/internal/chunkstore"
)

// storeSettle is how old a superseded or uncommitted chunk store version
// must be before it goes: a machine may still be fetching it.
const storeSettle = 24 * time.Hour

// pruneStore cleans the shared chunk store (config chunk_store): the
// hours of days past the retention, and in the days kept the versions
// another superseded and those a dead run never committed. Every machine
// may run it: what goes is decided from the store alone.
func (c *cleaner) pruneStore(ctx context.Context) error {
	if c.o.Config.ChunkStore == nil {
		return nil
	}
	s, err := chunkstore.Open(c.o.Config)
	if err != nil {
		return err
	}
	defer s.Close()
	firstDay := c.cutoff.Format("20060102")
	for _, name := range c.o.Config.InterfaceNames() {
		if i := c.o.Config.Interfaces[name]; i == nil || !i.HourlyPack {
			continue
		}
		gone, err := s.Prune(ctx, name, firstDay, c.o.Now.Add(-storeSettle), c.o.DryRun)
		for _, p := range gone {
			fmt.Fprintf(c.o.Out, "CHAMA_CLEAN %s store=%s path=%s reason=%s bytes=%d\n", c.verb(), s, p.Path, p.Why, p.Bytes)
			c.res.StoreDirs++
			c.res.Bytes += p.Bytes
		}
		if err != nil {
			return fmt.Errorf("clean: chunk store %s: %w", s, err)
		}
	}
	return nil
}
