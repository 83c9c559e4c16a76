package delivery

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chama-data/chama/internal/lock"
	"github.com/chama-data/chama/internal/workdir"
)

// A delivery record is written under the period's lock, which a re-pack
// holds while it carries the records into its new folder: the write waits
// for it instead of landing in a folder about to be replaced.
func TestDeliveryRecordWaitsForThePeriodLock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out", "51007", "20241212")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	unlock, err := lock.Try(workdir.PeriodLock(dir), lock.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	d := &Record{Version: 1, Iface: "51007", Period: "20241212", Target: "plat"}
	done := make(chan error, 1)
	go func() { done <- d.Write(dir) }()
	select {
	case err := <-done:
		unlock()
		t.Fatalf("the record was written while the period was locked (err %v)", err)
	case <-time.After(200 * time.Millisecond):
		// Still waiting, as it should; a slow machine only makes this pass.
	}
	if _, err := os.Stat(filepath.Join(dir, workdir.DeliveryFile("plat"))); err == nil {
		t.Fatal("record present while the lock was held")
	}
	unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir, "plat"); err != nil {
		t.Fatalf("record after the lock was released: %v", err)
	}
}
