package verify

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chama-data/chama/config"
)

// deliver copies the packed set into <root>/incoming as push would leave
// it: data files and the .verf under their final names.
func deliver(t *testing.T, p *packed, root string) string {
	t.Helper()
	dir := filepath.Join(root, "incoming")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range append(append([]string{}, p.names...), p.m.Sets[0].Verf) {
		data, err := os.ReadFile(filepath.Join(p.dir, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func dirDialer(root string) Dialer {
	return func(ctx context.Context, name string, t *config.Target, _ string) (RemoteFS, string, func() error, error) {
		return DirFS{Root: root}, "fake:22", func() error { return nil }, nil
	}
}

func TestVerifyRemoteDamage(t *testing.T) {
	const pre = "CHAMA_VERIFY FAIL iface=51007 period=20241212 "
	cases := []struct {
		name   string
		deep   bool
		damage func(t *testing.T, p *packed, dir string) []string
	}{
		{"intact", true, func(t *testing.T, p *packed, dir string) []string {
			// Files of other periods and interfaces in the shared folder are none of our business.
			os.WriteFile(filepath.Join(dir, "a_10000_20241211_51007_00_0001.dat.gz"), []byte("x"), 0o644)
			os.WriteFile(filepath.Join(dir, ".a_10000_20241211_51007_00_0002.dat.gz.part"), []byte("x"), 0o644)
			os.WriteFile(filepath.Join(dir, "a_10000_20241212_51006_00_0001.dat.gz"), []byte("x"), 0o644)
			return []string{"CHAMA_VERIFY OK iface=51007 period=20241212 files=3 lines=25 hosts=fake:22"}
		}},
		{".part leftover", false, func(t *testing.T, p *packed, dir string) []string {
			os.WriteFile(filepath.Join(dir, "."+p.names[2]+".part"), []byte("half"), 0o644)
			return []string{pre + "file=." + p.names[2] + ".part reason=part_leftover where=target:t1 host=fake:22"}
		}},
		{"missing .verf", false, func(t *testing.T, p *packed, dir string) []string {
			os.Remove(filepath.Join(dir, p.m.Sets[0].Verf))
			return []string{pre + "file=" + p.m.Sets[0].Verf + " reason=missing_verf where=target:t1 host=fake:22"}
		}},
		{"missing file", false, func(t *testing.T, p *packed, dir string) []string {
			os.Remove(filepath.Join(dir, p.names[0]))
			return []string{pre + "file=" + p.names[0] + " reason=missing_file where=target:t1 host=fake:22"}
		}},
		{"short file", false, func(t *testing.T, p *packed, dir string) []string {
			os.Truncate(filepath.Join(dir, p.names[1]), 10)
			return []string{fmt.Sprintf(pre+"file=%s reason=size_mismatch where=target:t1 host=fake:22 want=%d got=10", p.names[1], p.entries[1].Bytes)}
		}},
		{"stray file of the period", false, func(t *testing.T, p *packed, dir string) []string {
			stray := strings.Replace(p.names[2], "_0003.", "_0007.", 1)
			os.WriteFile(filepath.Join(dir, stray), []byte("x"), 0o644)
			resend := strings.Replace(p.names[0], "_00_0001.", "_01_0001.", 1)
			os.WriteFile(filepath.Join(dir, resend), []byte("x"), 0o644)
			return []string{
				pre + "file=" + stray + " reason=stray_file where=target:t1 host=fake:22",
				pre + "file=" + resend + " reason=stray_file where=target:t1 host=fake:22",
			}
		}},
		{"flipped byte, shallow check does not see it", false, func(t *testing.T, p *packed, dir string) []string {
			flip(t, filepath.Join(dir, p.names[0]))
			return []string{"CHAMA_VERIFY OK iface=51007 period=20241212 files=3 lines=25 hosts=fake:22"}
		}},
		{".verf rewritten remotely, same size, --deep sees it", true, func(t *testing.T, p *packed, dir string) []string {
			data := flip(t, filepath.Join(dir, p.m.Sets[0].Verf))
			local, _ := os.ReadFile(filepath.Join(p.dir, p.m.Sets[0].Verf))
			return []string{pre + "file=" + p.m.Sets[0].Verf + " reason=checksum_mismatch where=target:t1 host=fake:22 want=" + md5hex(local) + " got=" + md5hex(data)}
		}},
		{".verf of an earlier pack of the same set (ctime differs), --deep accepts it as push does", true, func(t *testing.T, p *packed, dir string) []string {
			// push keeps the .verf it delivered when a re-pack changed only
			// the ctime column (transfer.verfEquivalent).
			vp := filepath.Join(dir, p.m.Sets[0].Verf)
			data, _ := os.ReadFile(vp)
			var out []string
			for _, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
				f := strings.Split(l, "|")
				f[4] = "20000101000000" // ctime, same width
				out = append(out, strings.Join(f, "|"))
			}
			os.WriteFile(vp, []byte(strings.Join(out, "\n")+"\n"), 0o644)
			return []string{"CHAMA_VERIFY OK iface=51007 period=20241212 files=3 lines=25 hosts=fake:22"}
		}},
		{".verf differing in more than ctime, --deep flags it", true, func(t *testing.T, p *packed, dir string) []string {
			vp := filepath.Join(dir, p.m.Sets[0].Verf)
			data, _ := os.ReadFile(vp)
			changed := []byte(strings.Replace(string(data), "|20241212|", "|20241211|", 1))
			os.WriteFile(vp, changed, 0o644)
			local, _ := os.ReadFile(filepath.Join(p.dir, p.m.Sets[0].Verf))
			return []string{pre + "file=" + p.m.Sets[0].Verf + " reason=checksum_mismatch where=target:t1 host=fake:22 want=" + md5hex(local) + " got=" + md5hex(changed)}
		}},
		{"flipped byte, --deep does", true, func(t *testing.T, p *packed, dir string) []string {
			data := flip(t, filepath.Join(dir, p.names[0]))
			return []string{pre + "file=" + p.names[0] + " reason=checksum_mismatch where=target:t1 host=fake:22 want=" + p.entries[0].MD5 + " got=" + md5hex(data)}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := pack(t, 25)
			root := t.TempDir()
			want := c.damage(t, p, deliver(t, p, root))
			o := p.options()
			o.Remote, o.Deep, o.Dial = true, c.deep, dirDialer(root)
			rep, lines := runLines(t, o)
			var got []string
			for _, l := range lines {
				got = append(got, stripDetail(l))
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
			}
			if rep.OK != strings.HasPrefix(want[0], "CHAMA_VERIFY OK") {
				t.Fatalf("ok = %v", rep.OK)
			}
		})
	}
}

func TestVerifyRemoteUnreachable(t *testing.T) {
	p := pack(t, 5)
	o := p.options()
	o.Remote = true
	o.Dial = func(ctx context.Context, name string, t *config.Target, _ string) (RemoteFS, string, func() error, error) {
		return nil, "", nil, fmt.Errorf("dial 127.0.0.1:2222: connection refused")
	}
	rep, lines := runLines(t, o)
	if rep.OK || lines[0] != `CHAMA_VERIFY FAIL iface=51007 period=20241212 file=- reason=remote_error where=target:t1 detail="dial 127.0.0.1:2222: connection refused" fix="restore access to the target (see detail), then: chama verify --date 20241212 --iface 51007 --remote"` {
		t.Fatalf("got %v", lines)
	}
}

func flip(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x01
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return data
}

func TestVerifyRemoteWithoutRoutesWarns(t *testing.T) {
	p := pack(t, 5)
	p.ifc.Routes = nil
	o := p.options()
	o.Remote = true
	rep, lines := runLines(t, o)
	want := "CHAMA_VERIFY WARN iface=51007 period=20241212 file=- reason=no_route where=remote\nCHAMA_VERIFY OK iface=51007 period=20241212 files=1 lines=5"
	if !rep.OK || stripDetail(lines[0])+"\n"+lines[1] != want || len(lines) != 2 {
		t.Fatalf("lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), want)
	}
}

// With the local output gone (retention), --remote checks the targets
// against their own .verf.
func TestVerifyRemoteWithoutLocalOutput(t *testing.T) {
	p := pack(t, 25)
	root := t.TempDir()
	dir := deliver(t, p, root)
	os.RemoveAll(p.dir)
	o := p.options()
	o.Remote, o.Deep, o.Dial = true, true, dirDialer(root)
	rep, lines := runLines(t, o)
	want := "CHAMA_VERIFY WARN iface=51007 period=20241212 file=- reason=not_packed where=local\nCHAMA_VERIFY OK iface=51007 period=20241212 files=3 lines=25 hosts=fake:22"
	if !rep.OK || len(lines) != 2 || stripDetail(lines[0])+"\n"+lines[1] != want {
		t.Fatalf("lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), want)
	}
	data := flip(t, filepath.Join(dir, p.names[2]))
	os.Remove(filepath.Join(dir, p.names[1]))
	rep, lines = runLines(t, o)
	var got []string
	for _, l := range lines {
		got = append(got, stripDetail(l))
	}
	wantLines := []string{
		"CHAMA_VERIFY WARN iface=51007 period=20241212 file=- reason=not_packed where=local",
		"CHAMA_VERIFY FAIL iface=51007 period=20241212 file=" + p.names[1] + " reason=missing_file where=target:t1 host=fake:22",
		"CHAMA_VERIFY FAIL iface=51007 period=20241212 file=" + p.names[2] + " reason=checksum_mismatch where=target:t1 host=fake:22 want=" + p.entries[2].MD5 + " got=" + md5hex(data),
	}
	if rep.OK || strings.Join(got, "\n") != strings.Join(wantLines, "\n") {
		t.Fatalf("lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(wantLines, "\n"))
	}
	// Nothing anywhere: the target has no .verf either.
	os.RemoveAll(dir)
	os.MkdirAll(dir, 0o755)
	rep, lines = runLines(t, o)
	if rep.OK || stripDetail(lines[1]) != "CHAMA_VERIFY FAIL iface=51007 period=20241212 file=- reason=missing_verf where=remote" {
		t.Fatalf("%v", lines)
	}
}

// After a documented re-send (pack --resend 1, push), the target still
// holds re-send 00's files: they are superseded (a WARN that says how to
// clear them), not stray files that keep verify red.
func TestVerifyRemoteSupersededResendIsAWarning(t *testing.T) {
	p := pack(t, 25)
	root := t.TempDir()
	remote := deliver(t, p, root)
	// Re-send 01 of the same period: the same files under _01_ names.
	re := func(n string) string { return strings.Replace(n, "_00", "_01", 1) }
	var es []Entry
	for i, n := range p.names {
		if err := os.Rename(filepath.Join(p.dir, n), filepath.Join(p.dir, re(n))); err != nil {
			t.Fatal(err)
		}
		p.names[i] = re(n)
		p.m.Sets[0].Files[i].Name = re(n)
		e := p.entries[i]
		e.Name = re(n)
		es = append(es, e)
	}
	os.Remove(filepath.Join(p.dir, p.m.Sets[0].Verf))
	p.m.Sets[0].Verf = re(p.m.Sets[0].Verf)
	p.m.Resend = 1
	p.writeVerf(t, config.DefaultVerfColumns, es)
	p.writeManifest(t)
	deliver(t, p, root)
	o := p.options()
	o.Remote, o.Dial = true, dirDialer(root)
	rep, lines := runLines(t, o)
	if !rep.OK {
		t.Fatalf("verify is red after a re-send:\n%s", strings.Join(lines, "\n"))
	}
	warned := 0
	for _, l := range lines {
		if strings.Contains(l, "reason=superseded_file") {
			warned++
			if !strings.Contains(l, "WARN") || !strings.Contains(l, "_00") || !strings.Contains(l, "superseded by re-send 01") {
				t.Errorf("line %s", l)
			}
		}
	}
	if want := len(p.names) + 1; warned != want {
		t.Errorf("%d superseded warnings, want %d (the files and the .verf of re-send 00 in %s):\n%s", warned, want, remote, strings.Join(lines, "\n"))
	}
}
