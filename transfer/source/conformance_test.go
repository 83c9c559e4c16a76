package source_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/hdfstest"
	"github.com/chama-data/chama/transfer/source"
	"github.com/chama-data/chama/transfer/source/sourcetest"
)

// The conformance suite (package sourcetest) against every source, each
// built from config by source.Open as the pipeline builds it.

// openSource parses a config whose sources: section is src (one source
// called "s", plus extra top-level YAML) and opens it.
func openSource(t *testing.T, src, extra string) source.Source {
	t.Helper()
	y := fmt.Sprintf("workdir: %s\nsources:\n  s: %s\n%sinterfaces:\n  \"51007\": {source: s, path: \"ods/dt={date}\"}\n", t.TempDir(), src, extra)
	cfg, err := config.Parse([]byte(y))
	if err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	s, err := source.Open(cfg, "s")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { source.Close(s) })
	return s
}

// Local reads an os.File, which knows nothing of contexts.
var localSkips = map[string]string{
	"OpenCancelled": "Local.Open and OpenRange ignore the context: os.Open then os.File reads succeed with a cancelled context",
	"ReadCancelled": "Local.Open returns a plain *os.File: cancelling the context does not stop its reads",
}

func TestLocalConformance(t *testing.T) {
	root := filepath.Join(t.TempDir(), "src root") // a space in the root too
	sourcetest.DirMkdir(root)(t, "")
	sourcetest.Run(t, sourcetest.Harness{
		Source:  openSource(t, fmt.Sprintf("{type: file, root: %q}", root), ""),
		Put:     sourcetest.DirPut(root),
		Mkdir:   sourcetest.DirMkdir(root),
		ModTime: true,
		Skip:    localSkips,
	})
}

// HDFS through the in-process cluster, with small blocks (the big file
// spans several) and a small listing page (folders span several pages);
// once with CRC32C checksums, once with CRC32 (files AltHashes covers).
func TestHDFSConformance(t *testing.T) {
	for _, crc32 := range []bool{false, true} {
		name := "crc32c"
		if crc32 {
			name = "crc32"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			c, err := hdfstest.Start(hdfstest.Options{Root: dir, BlockSize: 64 << 10, ListLimit: 3, Datanodes: 2, CRC32: crc32})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			root := filepath.Join(dir, "warehouse")
			sourcetest.DirMkdir(root)(t, "")
			src := fmt.Sprintf("{type: hdfs, namenodes: [%s], user: chama, root: /warehouse, clients: 2, timeout: 10s}", strings.Join(c.Addrs(), ", "))
			sourcetest.Run(t, sourcetest.Harness{
				Source:  openSource(t, src, ""),
				Put:     sourcetest.DirPut(root),
				Mkdir:   sourcetest.DirMkdir(root),
				ModTime: true,
			})
		})
	}
}

// The SFTP relay through the in-process SFTP server, remote_checksum on
// (so the md5sum Verifier is checked too).
func TestSFTPConformance(t *testing.T) {
	rl := startRelay(t)
	root := filepath.Join(rl.Root(), "relay")
	sourcetest.DirMkdir(root)(t, "")
	cfg := rl.config(t, "/relay", []string{rl.srv.Addr()}, nil, "remote_checksum: true")
	s, err := source.Open(cfg, "relay")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { source.Close(s) })
	sourcetest.Run(t, sourcetest.Harness{
		Source:  s,
		Put:     sourcetest.DirPut(root),
		Mkdir:   sourcetest.DirMkdir(root),
		ModTime: true,
	})
}
