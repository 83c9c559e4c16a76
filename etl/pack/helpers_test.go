package pack

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/naming"
)

// env is a source folder and a workdir with a config over them.
type env struct {
	t    *testing.T
	root string // source root
	work string // workdir
	cfg  *config.Config
	yaml string // the config text, for a subprocess
}

// newEnv builds a config whose interface X reads root/ods/dt={date} (or
// the path given in extra) with the extra interface keys.
func newEnv(t *testing.T, extra string) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{t: t, root: filepath.Join(dir, "src"), work: filepath.Join(dir, "work")}
	if !strings.Contains(extra, "path:") {
		extra += "\n    path: ods/dt={date}"
	}
	y := fmt.Sprintf(`workdir: %s
sources:
  local: {type: file, root: %s}
interfaces:
  X:
    source: local%s
`, e.work, e.root, indent(extra))
	c, err := config.Parse([]byte(y))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, y)
	}
	e.cfg, e.yaml = c, y
	return e
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		l = strings.TrimSpace(l)
		if l != "" {
			b.WriteString("\n    " + l)
		}
	}
	return b.String()
}

// writeInput writes the lines verbatim, each ending in '\n', to rel under
// the source root, gzipped when the name ends in .gz.
func (e *env) writeInput(rel string, lines ...string) string {
	e.t.Helper()
	p := filepath.Join(e.root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	var data []byte
	for _, l := range lines {
		data = append(data, l...)
		data = append(data, '\n')
	}
	if strings.HasSuffix(p, ".gz") {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(data)
		zw.Close()
		data = b.Bytes()
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// row joins fields with \x01 (Hive's delimiter).
func row(fields ...string) string { return strings.Join(fields, "\x01") }

func (e *env) pack(period string, mod ...func(*Options)) (*manifest.Manifest, error) {
	e.t.Helper()
	o := Options{Config: e.cfg, Iface: e.cfg.Interfaces["X"], Period: naming.MustPeriod(period), Workers: 2}
	for _, f := range mod {
		f(&o)
	}
	return Run(context.Background(), o)
}

func (e *env) mustPack(period string, mod ...func(*Options)) *manifest.Manifest {
	e.t.Helper()
	m, err := e.pack(period, mod...)
	if err != nil {
		e.t.Fatalf("pack %s: %v", period, err)
	}
	return m
}

func (e *env) outDir(period string) string { return filepath.Join(e.work, "out", "X", period) }

// readGz decompresses a file with the standard library (an independent
// reader) and returns its lines.
func readGz(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(data) == 0 {
		return nil
	}
	if data[len(data)-1] != '\n' {
		t.Fatalf("%s does not end with a newline", path)
	}
	return strings.Split(string(data[:len(data)-1]), "\n")
}

// listTree lists every file under dir (relative, sorted).
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// noTemporaries fails when anything but published period folders is left
// in the interface's out folder (the lock file excepted).
func (e *env) noTemporaries() {
	e.t.Helper()
	ents, _ := os.ReadDir(filepath.Join(e.work, "out", "X"))
	for _, d := range ents {
		if strings.HasPrefix(d.Name(), ".") && !strings.HasSuffix(d.Name(), ".lock") {
			e.t.Errorf("temporary left behind: %s (contents %v)", d.Name(), listTree(e.t, filepath.Join(e.work, "out", "X", d.Name())))
		}
	}
}

func readManifest(dir string) (*manifest.Manifest, error) { return manifest.Read(dir) }
