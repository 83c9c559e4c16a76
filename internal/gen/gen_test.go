package gen

import (
	"bytes"
	"context"
	"crypto/aes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
)

func opts(t testing.TB, rows int64, hours ...int) Options {
	o := Defaults()
	o.Dir = t.TempDir()
	o.Date = "20241212"
	o.Hours = hours
	o.Rows = rows
	o.Seed = 7
	return o
}

func run(t testing.TB, o Options) Result {
	t.Helper()
	r, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// readFile returns the uncompressed content of a .gz or .txt part.
func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(path, ".gz") {
		return b
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}

// lines splits content into lines, failing on a missing final newline.
func lines(t testing.TB, path string, b []byte) [][]byte {
	t.Helper()
	if len(b) == 0 {
		return nil
	}
	if b[len(b)-1] != '\n' {
		t.Fatalf("%s: last line not terminated by \\n", path)
	}
	return bytes.Split(b[:len(b)-1], []byte{'\n'})
}

// tree maps every file under dir (relative path) to its bytes.
func tree(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
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

func TestFieldConstantsNameTheirColumns(t *testing.T) {
	if len(Columns) != NumFields {
		t.Fatalf("len(Columns) = %d, NumFields = %d", len(Columns), NumFields)
	}
	for f, name := range map[int]string{
		FieldEventID: "event_id", FieldDeviceID: "device_id", FieldEvent: "mc_ev",
		FieldServerTime: "server_time", FieldClientTime: "client_time", FieldUserKey: "user_key",
		FieldUserValue: "user_value", FieldSessionID: "session_id", FieldPackage: "package",
		FieldChannel: "channel", FieldDataSourceID: "data_source_id", FieldDomain: "domain",
		FieldIP: "ip", FieldUserAgent: "user_agent", FieldSDKVersion: "sdk_version",
		FieldLatitude: "latitude", FieldLongitude: "longitude", FieldAttributes: "attributes",
		FieldProvince: "province", FieldDt: "dt", FieldHour: "hour",
	} {
		if Columns[f-1] != name {
			t.Errorf("field %d is %q, want %q", f, Columns[f-1], name)
		}
	}
	if len(Provinces) != 31 {
		t.Errorf("%d provinces, want 31", len(Provinces))
	}
}

func TestHourRowsSumsExactlyAlongTheDailyCurve(t *testing.T) {
	for _, total := range []int64{0, 1, 23, 24, 1000, 999_983, 2_000_000, 4_000_000_000_001} {
		for _, hours := range [][]int{nil, {7}, {0, 1, 2}, {3, 20}, {23, 0, 12}} {
			got := HourRows(total, hours)
			want := len(hours)
			if hours == nil {
				want = 24
			}
			if len(got) != want {
				t.Fatalf("HourRows(%d, %v) has %d entries, want %d", total, hours, len(got), want)
			}
			var sum int64
			for _, n := range got {
				if n < 0 {
					t.Fatalf("HourRows(%d, %v) = %v: negative", total, hours, got)
				}
				sum += n
			}
			if sum != total {
				t.Fatalf("HourRows(%d, %v) sums to %d", total, hours, sum)
			}
			if !slices.Equal(got, HourRows(total, hours)) {
				t.Fatalf("HourRows(%d, %v) not deterministic", total, hours)
			}
		}
	}
	shuffled, sorted := HourRows(1001, []int{23, 0, 12, 10, 11}), HourRows(1001, []int{0, 10, 11, 12, 23})
	if !slices.Equal([]int64{shuffled[1], shuffled[3], shuffled[4], shuffled[2], shuffled[0]}, sorted) {
		t.Errorf("order of hours changes the split: %v vs %v", shuffled, sorted)
	}
	day := HourRows(2_400_000, nil)
	if !(day[4] < day[10]/5 && day[4] < day[21]/5) {
		t.Errorf("night hour 04 = %d is not well below 10 = %d and 21 = %d", day[4], day[10], day[21])
	}
	if !slices.Equal(day, HourRows(2_400_000, allHours())) {
		t.Error("nil hours differ from all 24 hours")
	}
}

func TestSameSeedIsByteIdenticalOtherSeedDiffers(t *testing.T) {
	a := opts(t, 3000, 6, 19)
	a.FilesPerHour = 3
	b := a
	b.Dir = t.TempDir()
	b.Workers = 1 // a different schedule must not change the bytes
	c := a
	c.Dir = t.TempDir()
	c.Seed = 8
	run(t, a)
	run(t, b)
	run(t, c)
	ta, tb, tc := tree(t, a.Dir), tree(t, b.Dir), tree(t, c.Dir)
	if len(ta) != 2*3+2 {
		t.Fatalf("wrote %d files, want 6 parts + 2 markers", len(ta))
	}
	for name, data := range ta {
		if !bytes.Equal(data, tb[name]) {
			t.Errorf("%s differs between two runs with seed 7", name)
		}
		if strings.HasPrefix(filepath.Base(name), "part-") && bytes.Equal(data, tc[name]) {
			t.Errorf("%s is the same with seeds 7 and 8", name)
		}
	}
}

func TestRowCountsPerHourAndFile(t *testing.T) {
	o := opts(t, 10_007, 0, 4, 13, 21)
	o.FilesPerHour = 4
	res := run(t, o)
	want := HourRows(o.Rows, o.Hours)
	if res.Rows != o.Rows || len(res.Files) != 16 {
		t.Fatalf("result: %d rows in %d files, want %d in 16", res.Rows, len(res.Files), o.Rows)
	}
	var raw, gz int64
	for i, h := range o.Hours {
		var hourRows int64
		for p := 0; p < 4; p++ {
			f := res.Files[i*4+p]
			wantPath := filepath.Join(o.Dir, "dt=20241212", fmt.Sprintf("hour=%02d", h), fmt.Sprintf("part-%05d.gz", p))
			if f.Path != wantPath || f.Hour != h {
				t.Fatalf("file %d is %s (hour %d), want %s", i*4+p, f.Path, f.Hour, wantPath)
			}
			content := readFile(t, f.Path)
			n := int64(len(lines(t, f.Path, content)))
			if n != f.Rows {
				t.Errorf("%s: %d lines, result says %d", f.Path, n, f.Rows)
			}
			if lo, hi := want[i]/4, (want[i]+3)/4; n < lo || n > hi {
				t.Errorf("%s: %d lines, want %d..%d (even split of %d)", f.Path, n, lo, hi, want[i])
			}
			if int64(len(content)) != f.RawBytes {
				t.Errorf("%s: %d raw bytes, result says %d", f.Path, len(content), f.RawBytes)
			}
			st, _ := os.Stat(f.Path)
			if st.Size() != f.Bytes {
				t.Errorf("%s: %d bytes on disk, result says %d", f.Path, st.Size(), f.Bytes)
			}
			hourRows += n
			raw += f.RawBytes
			gz += f.Bytes
		}
		if hourRows != want[i] {
			t.Errorf("hour %02d: %d rows, want %d", h, hourRows, want[i])
		}
	}
	if raw != res.RawBytes || gz != res.Bytes {
		t.Errorf("totals %d/%d, files sum to %d/%d", res.RawBytes, res.Bytes, raw, gz)
	}
}

func TestEveryLineIsWellFormed(t *testing.T) {
	o := opts(t, 20_000, 2, 20)
	res := run(t, o)
	provs := map[string]bool{}
	for _, p := range Provinces {
		provs[p.Code] = true
	}
	dss := map[string]bool{}
	for _, d := range DataSources {
		dss[d.ID] = true
	}
	seenProv, seenDS := map[string]int{}, map[string]int{}
	var qycs, qycsNum, leadeon, emptyJSON int
	for _, f := range res.Files {
		for i, line := range lines(t, f.Path, readFile(t, f.Path)) {
			where := fmt.Sprintf("%s line %d", f.Path, i+1)
			if bytes.ContainsAny(line, "\r\n") {
				t.Fatalf("%s: stray CR/LF in %q", where, line)
			}
			fs := strings.Split(string(line), "\x01")
			if len(fs) != len(Columns) {
				t.Fatalf("%s: %d fields, want %d: %q", where, len(fs), len(Columns), line)
			}
			get := func(n int) string { return fs[n-1] }
			if get(FieldDt) != "20241212" || get(FieldHour) != fmt.Sprintf("%02d", f.Hour) {
				t.Fatalf("%s: dt/hour %s/%s", where, get(FieldDt), get(FieldHour))
			}
			if !provs[get(FieldProvince)] {
				t.Fatalf("%s: province %q is not a known code", where, get(FieldProvince))
			}
			if !dss[get(FieldDataSourceID)] {
				t.Fatalf("%s: data_source_id %q unknown", where, get(FieldDataSourceID))
			}
			ip, err := netip.ParseAddr(get(FieldIP))
			if err != nil || !ip.Is4() || ip.IsPrivate() || ip.IsLoopback() || ip.IsUnspecified() {
				t.Fatalf("%s: ip %q is not a public IPv4", where, get(FieldIP))
			}
			if !strings.HasPrefix(get(FieldAttributes), "{") {
				t.Fatalf("%s: attributes %q is not a JSON map", where, get(FieldAttributes))
			}
			start := time.Date(2024, 12, 12, f.Hour, 0, 0, 0, cst).UnixMilli()
			st, err1 := strconv.ParseInt(get(FieldServerTime), 10, 64)
			ct, err2 := strconv.ParseInt(get(FieldClientTime), 10, 64)
			if err1 != nil || err2 != nil || st < start || st >= start+3_600_000 || ct < start || ct > st {
				t.Fatalf("%s: server/client time %s/%s not inside hour %02d (from %d)", where, get(FieldServerTime), get(FieldClientTime), f.Hour, start)
			}
			if !utf8.Valid(line) {
				t.Fatalf("%s: not valid UTF-8: %q", where, line)
			}
			if len(get(FieldEventID)) != 36 || len(get(FieldSessionID)) != 32 {
				t.Fatalf("%s: ids %q %q", where, get(FieldEventID), get(FieldSessionID))
			}
			seenProv[get(FieldProvince)]++
			seenDS[get(FieldDataSourceID)]++
			ev := get(FieldEvent)
			if strings.Contains(ev, "210315_QYCS") {
				qycs++
				if strings.HasPrefix(ev, "210315_QYCS_") && strings.Trim(ev[12:], "0123456789") == "" {
					qycsNum++
				}
			}
			if strings.Contains(get(FieldUserAgent), "leadeon/") {
				leadeon++
			}
			if get(FieldAttributes) == "{}" {
				emptyJSON++
			}
		}
	}
	if len(seenProv) < 25 || seenProv["200"] <= seenProv["891"]*5 {
		t.Errorf("provinces not spread and skewed: %v", seenProv)
	}
	if len(seenDS) != len(DataSources) {
		t.Errorf("data sources seen: %v", seenDS)
	}
	if qycs == 0 || qycsNum == 0 || qycsNum == qycs || leadeon == 0 || emptyJSON == 0 {
		t.Errorf("routing material missing: qycs %d, numbered %d, leadeon UAs %d, {} %d", qycs, qycsNum, leadeon, emptyJSON)
	}
}

// decrypt is the consumer's side: AES-128-ECB, PKCS#7 checked strictly.
func decrypt(t *testing.T, v string) (string, bool) {
	ct, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(ct) != 16 {
		t.Fatalf("user_value %q is not base64 of one block", v)
	}
	blk, _ := aes.NewCipher(demoKey)
	var pt [16]byte
	blk.Decrypt(pt[:], ct)
	n := int(pt[15])
	if n == 0 || n > 16 {
		return "", false
	}
	for _, c := range pt[16-n:] {
		if int(c) != n {
			return "", false
		}
	}
	return string(pt[:16-n]), true
}

func TestMobilesDecryptWithTheDemoKey(t *testing.T) {
	o := opts(t, 20_000, 9)
	res := run(t, o)
	var good, bad, plain, other int
	for _, f := range res.Files {
		for _, line := range lines(t, f.Path, readFile(t, f.Path)) {
			fs := strings.Split(string(line), "\x01")
			key, val := fs[FieldUserKey-1], fs[FieldUserValue-1]
			switch {
			case key != "$basic_userId":
				other++
			case !strings.HasSuffix(val, "=="):
				if len(val) != 11 || strings.Trim(val, "0123456789") != "" {
					t.Fatalf("plain mobile %q is not 11 digits", val)
				}
				plain++
			default:
				m, ok := decrypt(t, val)
				if !ok {
					bad++
					continue
				}
				if len(m) != 11 || m[0] != '1' || strings.Trim(m, "0123456789") != "" {
					t.Fatalf("%q decrypts to %q, not an 11-digit mobile", val, m)
				}
				good++
			}
		}
	}
	total := good + bad + plain + other
	if good < total/3 || bad == 0 || bad > good/20 || plain == 0 {
		t.Errorf("mobiles: %d decrypt, %d bad padding, %d plain, %d other user keys", good, bad, plain, other)
	}
}

func TestMarkerIsWrittenLastAndStalePartsGo(t *testing.T) {
	o := opts(t, 5000, 1, 2, 3)
	o.FilesPerHour = 3
	var mu sync.Mutex
	var events []string
	o.onEvent = func(kind, path string) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, kind+" "+path)
		if kind != "marker" {
			return
		}
		// Every part of this hour must be complete, and no temp left, when
		// the marker appears.
		dir := filepath.Dir(path)
		for p := 0; p < 3; p++ {
			part := filepath.Join(dir, fmt.Sprintf("part-%05d.gz", p))
			b, err := os.ReadFile(part)
			if err != nil {
				t.Errorf("marker %s before %s: %v", path, part, err)
				continue
			}
			if _, err := gzip.NewReader(bytes.NewReader(b)); err != nil {
				t.Errorf("marker %s before %s is whole: %v", path, part, err)
			}
		}
		if tmps, _ := filepath.Glob(filepath.Join(dir, ".*.tmp")); len(tmps) > 0 {
			t.Errorf("marker %s with temp files %v", path, tmps)
		}
	}
	res := run(t, o)
	if len(res.Markers) != 3 {
		t.Fatalf("markers %v, want 3", res.Markers)
	}
	// Per hour: three file events, then its marker.
	for _, m := range res.Markers {
		dir := filepath.Dir(m)
		files, markerAt := 0, -1
		for i, e := range events {
			if strings.HasPrefix(e, "file "+dir+string(filepath.Separator)) {
				files++
				if markerAt >= 0 {
					t.Errorf("%s came after the marker", e)
				}
			}
			if e == "marker "+m {
				markerAt = i
			}
		}
		if files != 3 || markerAt < 0 {
			t.Errorf("%s: %d file events, marker at %d", dir, files, markerAt)
		}
	}

	// A re-run with fewer, plain files and no marker removes the old
	// marker and the parts it no longer writes, and only those.
	hour1 := filepath.Join(o.Dir, "dt=20241212", "hour=01")
	keep := filepath.Join(hour1, "notes.txt")
	if err := os.WriteFile(keep, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	o2 := o
	o2.onEvent, o2.FilesPerHour, o2.Marker, o2.Gzip = nil, 1, false, false
	res2 := run(t, o2)
	if len(res2.Markers) != 0 || len(res2.Removed) != 9 {
		t.Fatalf("re-run: markers %v, removed %v (want 9 old .gz parts)", res2.Markers, res2.Removed)
	}
	names := []string{}
	ents, _ := os.ReadDir(hour1)
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"notes.txt", "part-00000.txt"}) {
		t.Errorf("hour=01 after re-run holds %v", names)
	}
}

func TestPlainHoldsTheSameRowsAsGzip(t *testing.T) {
	a := opts(t, 2000, 11)
	b := a
	b.Dir, b.Gzip = t.TempDir(), false
	ra, rb := run(t, a), run(t, b)
	if !strings.HasSuffix(rb.Files[0].Path, "part-00000.txt") || rb.Bytes != rb.RawBytes {
		t.Fatalf("plain run wrote %+v", rb.Files[0])
	}
	if !bytes.Equal(readFile(t, ra.Files[0].Path), readFile(t, rb.Files[0].Path)) {
		t.Error("plain and gzip runs hold different rows")
	}
}

func TestCompressionRatioIsAboutTwo(t *testing.T) {
	res := run(t, opts(t, 30_000, 12))
	avg := float64(res.RawBytes) / float64(res.Rows)
	t.Logf("%d rows, %.0f bytes/row, gzip level 1 ratio %.2f", res.Rows, avg, res.Ratio())
	if r := res.Ratio(); r < 1.6 || r > 3 {
		t.Errorf("compression ratio %.2f, want 1.6-3", r)
	}
	if avg < 250 || avg > 450 {
		t.Errorf("average row %.0f bytes, want 250-450", avg)
	}
}

func TestBadOptionsAreRejected(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Options)
		want string
	}{
		{func(o *Options) { o.Dir = "" }, "no output folder"},
		{func(o *Options) { o.Date = "2024-12-12" }, `bad date "2024-12-12"`},
		{func(o *Options) { o.Date = "2024121207" }, `bad date "2024121207"`},
		{func(o *Options) { o.Hours = []int{24} }, "bad hour 24"},
		{func(o *Options) { o.Hours = []int{3, 3} }, "hour 03 given twice"},
		{func(o *Options) { o.Rows = -1 }, "rows -1"},
		{func(o *Options) { o.FilesPerHour = 100000 }, "files per hour 100000"},
		{func(o *Options) { o.Level = 10 }, "gzip level 10"},
	} {
		o := opts(t, 10)
		tc.edit(&o)
		_, err := Run(context.Background(), o)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrBadOptions) {
			t.Errorf("got %v, want an ErrBadOptions containing %q", err, tc.want)
		}
	}
}

func TestCancelledRunPublishesNothing(t *testing.T) {
	o := opts(t, 50_000, 5, 6)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	for name := range tree(t, o.Dir) {
		t.Errorf("cancelled run left %s", name)
	}
}

func TestInterruptedRunLeavesNoTempAndNoMarker(t *testing.T) {
	o := opts(t, 30_000, 5, 6)
	o.FilesPerHour, o.Workers = 3, 1
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o.onEvent = func(kind, path string) { cancel() } // after the first file
	res, err := Run(ctx, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(res.Markers) != 0 {
		t.Errorf("markers %v after an interrupted run", res.Markers)
	}
	parts := 0
	for name := range tree(t, o.Dir) {
		switch base := filepath.Base(name); {
		case strings.HasPrefix(base, "part-"):
			parts++
		default:
			t.Errorf("interrupted run left %s", name)
		}
	}
	if parts < 1 || parts >= 6 || parts != len(res.Files) {
		t.Errorf("%d parts published, result lists %d; want at least the first and not all", parts, len(res.Files))
	}
}

func TestEmptyRowsStillWriteValidFiles(t *testing.T) {
	res := run(t, opts(t, 0, 0))
	if len(res.Files) != 1 || res.Files[0].Rows != 0 || len(readFile(t, res.Files[0].Path)) != 0 {
		t.Fatalf("zero rows: %+v", res.Files)
	}
}

// BenchmarkGen generates 200,000 rows over 24 hours per iteration with
// every core, gzip level 1; MB/s is of raw (uncompressed) bytes.
func BenchmarkGen(b *testing.B) {
	o := opts(b, 200_000)
	o.FilesPerHour = 1
	for b.Loop() {
		res := run(b, o)
		b.SetBytes(res.RawBytes)
	}
}

// BenchmarkRows is the row generator alone on one core.
func BenchmarkRows(b *testing.B) {
	g := newRowGen(1, 2, "20241212", 7, 1733958000000)
	buf := make([]byte, 0, chunk)
	n := 0
	for b.Loop() {
		buf = g.appendRow(buf[:0])
		n += len(buf)
	}
	b.SetBytes(int64(n / max(b.N, 1)))
}
