package funcs

import (
	"bufio"
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chama-data/chama/internal/gen"
)

// genAgents returns the user agents of n rows from chama gen, in order.
func genAgents(b *testing.B, n int64) []string { return genColumn(b, n, 13) }

// genColumn returns field col of n rows from chama gen, in order.
func genColumn(b *testing.B, n int64, col int) []string {
	o := gen.Defaults()
	o.Dir, o.Date, o.Hours, o.Rows, o.Gzip, o.Marker = b.TempDir(), "20241212", []int{7}, n, false, false
	if _, err := gen.Run(context.Background(), o); err != nil {
		b.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(o.Dir, "dt=20241212", "hour=07", "part-*"))
	var uas []string
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			uas = append(uas, strings.Split(sc.Text(), "\x01")[col])
		}
		f.Close()
	}
	// One buffer, in row order, as an Arrow column holds them: strings
	// scattered over the heap make every benchmark a cache-miss test.
	var buf strings.Builder
	for _, u := range uas {
		buf.WriteString(u)
	}
	all := buf.String()
	for i, u := range uas {
		uas[i], all = all[:len(u)], all[len(u):]
	}
	return uas
}

// BenchmarkUAStream is the six ua_* functions over the agents of 200,000
// generated rows in order (about half of them occur once), through one
// Set's cache, per row. BenchmarkParseUA is one parse.
func BenchmarkUAStream(b *testing.B) {
	uas := genAgents(b, 200000)
	s := (&Shared{}).NewSet()
	var fns []FastFunc
	for _, n := range []string{"ua_os", "ua_os_version", "ua_browser", "ua_browser_version", "ua_device_brand", "ua_device_model"} {
		fns = append(fns, s.Fast(n))
	}
	args, out := make([]Val, 1), Val{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		args[0] = Str(uas[i%len(uas)])
		for _, f := range fns {
			f(args, &out)
		}
	}
}

func BenchmarkParseUA(b *testing.B) {
	uas := genAgents(b, 20000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ParseUA(uas[i%len(uas)])
	}
}

// BenchmarkJSONAttrs is the bench spec's attribute work a row: strip_chars,
// five get_json_object on the result (one parse) and url_decode of WT_es,
// over the attributes of 100,000 generated rows.
func BenchmarkJSONAttrs(b *testing.B) {
	docs := genColumn(b, 100000, 17)
	s := (&Shared{}).NewSet()
	strip, get, dec := s.Fast("strip_chars"), s.Fast("get_json_object"), s.Fast("url_decode")
	paths := []string{"$.WT_et", "$.WT_es", "$.WT_ti", "$.WT_vtid", "$.WT_av"}
	a2, a1 := make([]Val, 2), make([]Val, 1)
	var attrs, v, out Val
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a2[0], a2[1] = Str(docs[i%len(docs)]), Str("\n\r\t|")
		strip(a2, &attrs)
		for k, p := range paths {
			a2[0], a2[1] = attrs, Str(p)
			get(a2, &v)
			if k == 1 {
				a1[0] = v
				dec(a1, &out)
			}
		}
	}
}

// BenchmarkMobileURL is decrypt_mobile(user_key, user_value) and
// url_decode(WT_es) over 100,000 generated rows, as the bench spec calls
// them.
func BenchmarkMobileURL(b *testing.B) {
	keys, vals, docs := genColumn(b, 100000, 5), genColumn(b, 100000, 6), genColumn(b, 100000, 17)
	key, _ := hex.DecodeString(gen.DemoMobileKeyHex)
	c, err := NewMobileCipher(key)
	if err != nil {
		b.Fatal(err)
	}
	s := (&Shared{Mobile: c}).NewSet()
	var es []string
	get := s.Fast("get_json_object")
	for _, d := range docs {
		var v Val
		get([]Val{Str(d), Str("$.WT_es")}, &v)
		es = append(es, v.S)
	}
	dec, url := s.Fast("decrypt_mobile"), s.Fast("url_decode")
	a2, a1 := make([]Val, 2), make([]Val, 1)
	var out Val
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % len(keys)
		a2[0], a2[1] = Str(keys[k]), Str(vals[k])
		dec(a2, &out)
		a1[0] = Str(es[k])
		url(a1, &out)
		if k == len(keys)-1 {
			s.EndBatch() // the arena is per batch
		}
	}
}
