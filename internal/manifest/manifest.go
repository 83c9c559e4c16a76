// Package manifest is the machine-readable record of one packed period:
// what was read, what was written, and how the rows add up. Pack writes
// it; push, verify and status read it.
package manifest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chama-data/chama/internal/workdir"
)

// Version of the layout; readers accept older versions.
const Version = 1

// Manifest describes <workdir>/out/<iface>/<period>/.
type Manifest struct {
	Version int       `json:"version"`
	Iface   string    `json:"iface"`
	Period  string    `json:"period"`
	Resend  int       `json:"resend"`
	Created time.Time `json:"created"`
	Chama   string    `json:"chama"` // build that wrote it
	Inputs  []Input   `json:"inputs"`
	Rows    Rows      `json:"rows"`
	Sets    []Set     `json:"sets"`
}

// Input is one file read.
type Input struct {
	Path  string `json:"path"`
	Bytes int64  `json:"bytes"`
	Lines int64  `json:"lines"`
}

// Rows reconcile: Read = Written + Filtered + Rejected.
type Rows struct {
	Read     int64 `json:"read"`
	Written  int64 `json:"written"`
	Filtered int64 `json:"filtered"`
	Rejected int64 `json:"rejected"`
	// Delimiters counts values whose embedded output delimiter was
	// stripped or replaced, so the policy's effect is visible.
	Delimiters int64 `json:"embedded_delimiters"`
}

// Check reports a broken accounting identity.
func (r Rows) Check() error {
	if r.Read != r.Written+r.Filtered+r.Rejected {
		return fmt.Errorf("rows do not reconcile: read %d != written %d + filtered %d + rejected %d", r.Read, r.Written, r.Filtered, r.Rejected)
	}
	return nil
}

// Set is the files of one partition value with their .verf. Dir is
// relative to the period folder ("" when the interface is not partitioned).
type Set struct {
	Part  string `json:"part,omitempty"`
	Dir   string `json:"dir"`
	Verf  string `json:"verf"`
	Files []File `json:"files"`
}

// File is one data file.
type File struct {
	Name   string `json:"name"`
	Seq    int    `json:"seq"`
	Bytes  int64  `json:"bytes"`
	Lines  int64  `json:"lines"`
	MD5    string `json:"md5"`
	Hour   string `json:"hour,omitempty"` // the hour chunk it came from, in hourly mode
	Source string `json:"source,omitempty"`
}

// Read loads dir/manifest.json.
func Read(dir string) (*Manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, workdir.ManifestFile))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, workdir.ManifestFile), err)
	}
	if err := m.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, workdir.ManifestFile), err)
	}
	return &m, nil
}

// Check refuses a manifest whose names would reach outside the period
// folder: push uploads, verify reads and clean removes the files it
// names, so a manifest saying "../../../etc" must never be followed.
// A set's Dir is a relative folder inside the period folder; every file
// and .verf name is a plain name.
func (m *Manifest) Check() error {
	plain := func(n string) bool {
		return n != "" && n != "." && n != ".." && !strings.ContainsAny(n, "/\\\x00")
	}
	for _, s := range m.Sets {
		if s.Dir != "" && (!filepath.IsLocal(s.Dir) || strings.ContainsAny(s.Dir, "\\\x00")) {
			return fmt.Errorf("set %q: folder %q is not inside the period folder; refusing the manifest", s.Part, s.Dir)
		}
		if s.Verf != "" && !plain(s.Verf) {
			return fmt.Errorf("set %q: bad .verf name %q (a plain file name); refusing the manifest", s.Part, s.Verf)
		}
		for _, f := range s.Files {
			if !plain(f.Name) {
				return fmt.Errorf("set %q: bad file name %q (a plain file name); refusing the manifest", s.Part, f.Name)
			}
		}
	}
	return nil
}

// Write stores m as dir/manifest.json atomically (temp file, fsync, rename).
func Write(dir string, m *Manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(dir, workdir.ManifestFile), append(data, '\n'), 0o644)
}

// WriteFileAtomic writes data to path so that readers see the old
// content or the new, never a part.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), workdir.TempPrefix+"*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
