package pull_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/etl/pack"
	"github.com/chama-data/chama/internal/hdfstest"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/naming"
	"github.com/chama-data/chama/transfer/pull"
)

// outputs reads every file of an output folder except the manifest (it
// records where the inputs came from, which differs by design).
func outputs(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "manifest.json" {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Streaming pack straight from HDFS must give the same files as pull
// followed by a pack of the staged copy.
func TestStreamingPackEqualsPullThenPack(t *testing.T) {
	hdfsDir := t.TempDir()
	c, err := hdfstest.Start(hdfstest.Options{Root: hdfsDir, BlockSize: 32 << 10, Datanodes: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, h := range []string{"06", "07"} {
		for f := 0; f < 2; f++ {
			var b strings.Builder
			for i := 0; i < 1300; i++ {
				fmt.Fprintf(&b, "ev%s%d-%05d\x01user%d\x01page/%d\x01%s\n", h, f, i, i%17, i%5, strings.Repeat("x", i%40))
			}
			p := filepath.Join(hdfsDir, "warehouse", "ads", "dt=20241212", "hour="+h, fmt.Sprintf("%06d_0", f))
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		os.WriteFile(filepath.Join(hdfsDir, "warehouse", "ads", "dt=20241212", "hour="+h, "_SUCCESS"), nil, 0o644)
	}
	cfgFor := func(work string) *config.Config {
		y := fmt.Sprintf(`workdir: %s
sources:
  hdfs1:
    type: hdfs
    namenodes: [%q]
    user: chama
    root: /warehouse
interfaces:
  "51007":
    source: hdfs1
    path: ads/dt={date}/hour={hour}
    fields: 4
    lines_per_file: 1000
    file_name: a_10000_{period}_{iface}_{resend:02}_{seq}.dat.gz
    verf_name: a_10000_{period}_{iface}_{resend:02}.verf
    granularity: hour
`, work, c.Addrs()[0])
		cfg, err := config.Parse([]byte(y))
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	now := func() time.Time { return time.Date(2024, 12, 13, 1, 2, 3, 0, time.UTC) }
	ctx := context.Background()
	periods := []naming.Period{naming.MustPeriod("2024121206"), naming.MustPeriod("2024121207")}

	streamCfg := cfgFor(t.TempDir())
	stagedCfg := cfgFor(t.TempDir())
	if _, err := pull.Run(ctx, pull.Options{Config: stagedCfg, Periods: periods, Ifaces: []*config.Interface{stagedCfg.Interfaces["51007"]}}); err != nil {
		t.Fatal(err)
	}
	for _, p := range periods {
		// Streaming: the interface's own source, HDFS, read directly.
		if _, err := pack.Run(ctx, pack.Options{Config: streamCfg, Iface: streamCfg.Interfaces["51007"], Period: p, Now: now, Workers: 2}); err != nil {
			t.Fatalf("streaming pack %s: %v", p, err)
		}
	}
	c.Close() // packing the staged copy must not need the cluster
	for _, p := range periods {
		if _, err := pack.Run(ctx, pack.Options{Config: stagedCfg, Iface: stagedCfg.Interfaces["51007"], Period: p, Now: now, Workers: 2,
			Source: pull.Staged(stagedCfg, "51007", p.String())}); err != nil {
			t.Fatalf("pack of the staged copy %s: %v", p, err)
		}
		a := outputs(t, workdir.New(streamCfg.Workdir).Out("51007", p.String()))
		b := outputs(t, workdir.New(stagedCfg.Workdir).Out("51007", p.String()))
		var names []string
		for n := range a {
			names = append(names, n)
		}
		sort.Strings(names)
		if len(a) != len(b) || len(a) < 4 {
			t.Fatalf("%s: streaming made %v, pull-then-pack %d files", p, names, len(b))
		}
		for _, n := range names {
			if !bytes.Equal(a[n], b[n]) {
				t.Fatalf("%s: %s differs between streaming and pull-then-pack", p, n)
			}
		}
	}
}
