package transform

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/naming"
	"github.com/chama-data/chama/transfer/pull"
)

// pulledFixture is the text fixture with 51007 a from: transform
// interface, hour 07 written (gzip) and pulled by chama pull into
// raw/ods.events/, and the source's hour then removed.
func pulledFixture(t *testing.T) (*fixture, map[string][]string) {
	t.Helper()
	f := newFixture(t, "text", func(y string) string {
		return strings.Replace(y, `"51007": {source: local, path: "ads/51007/dt={date}"}`, `"51007": {from: transform}`, 1)
	})
	f.writeText(t, "07", sampleRows(t), 3, true)
	want, _, err := f.collect(t, LayerADS, "2024121207")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pull.Run(context.Background(), pull.Options{Config: f.cfg, Periods: []naming.Period{naming.MustPeriod("2024121207")},
		Ifaces: []*config.Interface{f.cfg.Interfaces["51007"]}}); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(f.root, "ods/events/dt=20241212/hour=07")); err != nil {
		t.Fatal(err)
	}
	return f, want
}

func (f *fixture) stream(t *testing.T, mode pull.Mode) (map[string][]string, *Summary, error) {
	t.Helper()
	got := map[string][]string{}
	sum, err := Stream(context.Background(), Options{Config: f.cfg, Layer: LayerADS, Period: naming.MustPeriod("2024121207"), Input: mode, Log: quiet},
		func(hour string, out Output) error {
			k := out.Name
			if out.Part != "" {
				k += "/" + out.Part
			}
			for r := 0; r < int(out.Rec.NumRows()); r++ {
				got[k] = append(got[k], string(AppendLine(nil, out.Rec, r, '|', "")))
			}
			return nil
		})
	return got, sum, err
}

// The ODS hour pulled for a from: transform interface is read from its
// copy with the source's hour gone, giving the same rows; the summary
// says so. --source origin then finds nothing (not ready).
func TestStreamReadsPulledODS(t *testing.T) {
	f, want := pulledFixture(t)
	got, sum, err := f.stream(t, pull.Auto)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows from the pulled copy differ:\n%v\nwant\n%v", got, want)
	}
	if sum.Input != pull.InputPulled || len(sum.Pulled) != 1 || sum.Streams[0].Input != pull.InputPulled {
		t.Fatalf("summary input %+v, stream %+v", sum.InputOf, sum.Streams[0].InputOf)
	}
	if _, _, err := f.stream(t, pull.Origin); exit.Code(err) != exit.NotReady {
		t.Fatalf("origin without the source's hour: %v", err)
	}
}

// A changed byte in a pulled gzip file fails the run naming the copy
// (exit 1), even though the gzip reader stumbles first.
func TestStreamRefusesADamagedPulledODS(t *testing.T) {
	f, _ := pulledFixture(t)
	file := filepath.Join(f.work, "raw", "ods.events", "20241212", "ods/events/dt=20241212/hour=07", "000001_0.gz")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x55
	os.WriteFile(file, b, 0o600)
	_, _, err = f.stream(t, pull.Auto)
	var ce *pull.CopyError
	if !errors.As(err, &ce) || ce.File != file || exit.Code(err) != exit.Failure || !strings.HasPrefix(err.Error(), "ods events: pulled copy ") {
		t.Fatalf("exit %d: %v", exit.Code(err), err)
	}
}
