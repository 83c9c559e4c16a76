package verify

import (
	"testing"

	"github.com/chama-data/chama/config"
)

// FuzzParseVerf: any .verf content either fails with an error or gives
// entries that format and parse back to the same entries.
func FuzzParseVerf(f *testing.F) {
	f.Add([]byte("a_10000_20241212_51007_00_0001.dat.gz|100|10|20241212|20241213010203|0123456789abcdef0123456789abcdef\n"))
	f.Add([]byte("x|1|1|20241212|20241213010203|\r\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		es, err := ParseVerf(config.DefaultVerfColumns, data)
		if err != nil {
			return
		}
		out, err := FormatVerf(config.DefaultVerfColumns, es)
		if err != nil {
			return // parsed, but not a .verf chama would write (e.g. an empty name)
		}
		again, err := ParseVerf(config.DefaultVerfColumns, out)
		if err != nil || len(again) != len(es) {
			t.Fatalf("%q parsed to %d entries, formatted to %q, which gives %d, %v", data, len(es), out, len(again), err)
		}
		for i := range es {
			if es[i] != again[i] {
				t.Fatalf("entry %d: %+v then %+v", i, es[i], again[i])
			}
		}
	})
}
