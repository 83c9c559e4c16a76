// Package delivery is the per-target delivery record of a period: which
// files reached which hosts, written by push and read by pack, verify and
// status. It lives apart from push so that readers need not import the
// SFTP code.
package delivery

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/chama-data/chama/internal/lock"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/internal/workdir"
)

// Record says which files of a period reached one target, where and how.
type Record struct {
	Version int       `json:"version"`
	Iface   string    `json:"iface"`
	Period  string    `json:"period"`
	Target  string    `json:"target"`
	Resend  int       `json:"resend"` // the manifest's re-send number when delivered
	Updated time.Time `json:"updated"`
	// Complete is true once every set's .verf was published.
	Complete bool   `json:"complete"`
	Files    []File `json:"files"`

	idx map[string]int // Files by name; nil: to build
}

// index finds a file's position, building the index on first use: a set
// of 4,000 files is looked up once per file.
func (d *Record) index(name string) (int, bool) {
	if d.idx == nil {
		d.idx = make(map[string]int, len(d.Files))
		for i, f := range d.Files {
			d.idx[f.Name] = i
		}
	}
	i, ok := d.idx[name]
	return i, ok
}

// File is one file confirmed on the target.
type File struct {
	Set  string `json:"set,omitempty"` // the set's part ("" when not partitioned)
	Name string `json:"name"`
	Verf bool   `json:"verf,omitempty"`
	Host string `json:"host"` // host:port that confirmed it last
	// Hosts holds every host:port the file is known to be on: confirmed
	// there by a run, sent or found matching. A failover to a host with
	// its own storage adds that host; nothing ever drops one but a new
	// re-send number.
	Hosts    []string  `json:"hosts,omitempty"`
	Path     string    `json:"path"` // final remote path
	Bytes    int64     `json:"bytes"`
	MD5      string    `json:"md5,omitempty"`
	Time     time.Time `json:"time"`
	Attempts int       `json:"attempts"`          // tries this run took (0: skipped)
	Skipped  bool      `json:"skipped,omitempty"` // already on the target, not sent again
	Resumed  int64     `json:"resumed_from,omitempty"`
}

// Read loads the record of target in a period folder; a missing
// record is (nil, nil).
func Read(dir, target string) (*Record, error) {
	p := filepath.Join(dir, workdir.DeliveryFile(target))
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var d Record
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	for i := range d.Files {
		// Records written before hosts existed name one host.
		if f := &d.Files[i]; len(f.Hosts) == 0 && f.Host != "" {
			f.Hosts = []string{f.Host}
		}
	}
	return &d, nil
}

// On reports whether the record shows the file on host (host:port).
func (f File) On(host string) bool { return slices.Contains(f.Hosts, host) }

// Lookup finds a file's entry.
func (d *Record) Lookup(name string) (File, bool) {
	if d == nil {
		return File{}, false
	}
	if i, ok := d.index(name); ok {
		return d.Files[i], true
	}
	return File{}, false
}

// Put adds or updates a file's entry. The hosts accumulate: a file
// confirmed on a second host is on both.
func (d *Record) Put(e File) {
	if !slices.Contains(e.Hosts, e.Host) {
		e.Hosts = append(e.Hosts, e.Host)
	}
	if i, ok := d.index(e.Name); ok {
		old := &d.Files[i]
		hosts := e.Hosts
		if old.Bytes == e.Bytes && old.MD5 == e.MD5 {
			for _, h := range old.Hosts {
				if !slices.Contains(hosts, h) {
					hosts = append(hosts, h)
				}
			}
		}
		sort.Strings(hosts)
		// A skipped file keeps the record of the run that sent it.
		if e.Skipped && !old.Skipped && old.Bytes == e.Bytes {
			old.Hosts = hosts
			return
		}
		e.Hosts = hosts
		*old = e
		return
	}
	sort.Strings(e.Hosts)
	d.idx[e.Name] = len(d.Files)
	d.Files = append(d.Files, e)
}

// Write saves the record in the period folder dir, atomically.
func (d *Record) Write(dir string) error {
	sort.SliceStable(d.Files, func(i, j int) bool {
		a, b := d.Files[i], d.Files[j]
		if a.Set != b.Set {
			return a.Set < b.Set
		}
		if a.Verf != b.Verf {
			return !a.Verf
		}
		return a.Name < b.Name
	})
	d.idx = nil // the order changed
	d.Updated = time.Now().UTC()
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	// Under the period's lock: a re-pack carries the records into its new
	// folder under the same lock, so an update is never lost in between.
	unlock, err := lock.Wait(workdir.PeriodLock(dir), lock.Exclusive)
	if err != nil {
		return err
	}
	defer unlock()
	return manifest.WriteFileAtomic(filepath.Join(dir, workdir.DeliveryFile(d.Target)), append(b, '\n'), 0o644)
}

// SetChanges lists the data files a target already received (its delivery
// record, same re-send number) that the packed set m no longer has, or
// has with other content: what re-packing an hour of a delivered day does
// to the files after it.
func SetChanges(m *manifest.Manifest, d *Record) []string {
	if m == nil || d == nil || d.Resend != m.Resend {
		return nil
	}
	type key struct{ set, name string }
	now := map[key]manifest.File{}
	for _, s := range m.Sets {
		for _, f := range s.Files {
			now[key{s.Part, f.Name}] = f
		}
	}
	var out []string
	for _, e := range d.Files {
		if e.Verf {
			continue
		}
		f, ok := now[key{e.Set, e.Name}]
		switch {
		case !ok:
			out = append(out, e.Name+" (delivered, no longer in the set)")
		case e.Bytes != f.Bytes || (e.MD5 != "" && f.MD5 != "" && e.MD5 != f.MD5):
			out = append(out, fmt.Sprintf("%s (delivered md5 %s, %d bytes; now md5 %s, %d bytes)", e.Name, e.MD5, e.Bytes, f.MD5, f.Bytes))
		}
	}
	return out
}
