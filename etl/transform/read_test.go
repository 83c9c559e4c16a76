package transform

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chama-data/chama/transfer/source"
)

// BenchmarkReadText cuts one generated file into batches (no decoding):
// the reader's CPU per row.
func BenchmarkReadText(b *testing.B) {
	cfg, _ := benchConfig(b, 100000)
	src := &source.Local{Root: cfg.Sources["gen"].Root}
	path := "dt=20241212/hour=07/part-00000.txt"
	b.ResetTimer()
	c0 := cpuTime()
	rows := 0
	for i := 0; i < b.N; i++ {
		err := readText(context.Background(), src, path, "07", 8192, func(c *chunk) error { rows += c.lines; putRaw(c.raw); return nil }) // as a worker does
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-c0)/float64(rows), "cpu-ns/row")
	b.ReportMetric(float64(rows)/float64(b.N), "rows/op")
}

// readText's chunks hold exactly batch lines (the last fewer), numbered
// from the file's first line, and together give back the file, with a
// line break added to a last line that has none; lines longer than a read
// block make the buffer grow.
func TestReadTextChunks(t *testing.T) {
	var lines []string
	for i := 0; i < 40; i++ {
		l := fmt.Sprintf("line%d\x01", i+1)
		switch i % 9 {
		case 3:
			l += strings.Repeat("x", 200<<10) // more than a read block
		case 5:
			l = "" // an empty line is a line (decode rejects it)
		case 7:
			l += "crlf\r"
		}
		lines = append(lines, l)
	}
	text := strings.Join(lines, "\n") // no line break at the end
	for _, gz := range []bool{false, true} {
		dir := t.TempDir()
		data := []byte(text)
		if gz {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(data)
			zw.Close()
			data = z.Bytes()
		}
		if err := os.WriteFile(filepath.Join(dir, "f"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, batch := range []int{1, 3, 40, 1000} {
			var got bytes.Buffer
			next := int64(1)
			err := readText(context.Background(), &source.Local{Root: dir}, "f", "07", batch, func(c *chunk) error {
				if c.firstLine != next {
					t.Errorf("gzip %v batch %d: chunk starts at line %d, want %d", gz, batch, c.firstLine, next)
				}
				if n := bytes.Count(c.raw, []byte{'\n'}); n != c.lines || (c.lines != batch && next+int64(c.lines) != 41) {
					t.Errorf("gzip %v batch %d: chunk at line %d has %d lines (%d breaks)", gz, batch, c.firstLine, c.lines, n)
				}
				next += int64(c.lines)
				got.Write(c.raw)
				putRaw(c.raw)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != text+"\n" {
				t.Errorf("gzip %v batch %d: chunks do not give back the file", gz, batch)
			}
		}
	}
}

func TestParseIntMatchesStrconv(t *testing.T) {
	for _, s := range []string{"0", "7", "-7", "+7", "1734000000123", "-1734000000123", "999999999999999999",
		"-999999999999999999", "1000000000000000000", "9223372036854775807", "-9223372036854775808",
		"9223372036854775808", "", "-", "+", "12a", "1.5", " 1", "1 ", "0x10", "1_000", "٣", "00012"} {
		got, gerr := parseInt([]byte(s))
		want, werr := strconv.ParseInt(s, 10, 64)
		if got != want || (gerr == nil) != (werr == nil) {
			t.Errorf("parseInt(%q) = %d, %v; strconv says %d, %v", s, got, gerr, want, werr)
		}
	}
}

// The row policies: under bad_line: null a short line gets NULL for its
// missing fields and a long one loses its extra fields; under bad_value:
// null a number that does not parse is NULL. Every such field is counted,
// every row kept. Under reject (the default) the same lines are rejected.
func TestDecodeRowPolicies(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "a", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "b", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	text := "x\x011\x01y\n" + // good
		"short\x012\n" + // b missing
		"long\x013\x01z\x01extra\x01more\n" + // two extra fields
		"bad\x0112x\x01w\n" + // n does not parse
		"only\n" // n and b missing
	ch := func() *chunk { return &chunk{source: "f", firstLine: 1, raw: []byte(text), lines: 5} }
	dump := func(rec arrow.RecordBatch) []string {
		var out []string
		for r := 0; r < int(rec.NumRows()); r++ {
			out = append(out, string(AppendLine(nil, rec, r, '|', "NULL")))
		}
		return out
	}

	rec, rejects := newDecoder(memory.DefaultAllocator, schema, 1, `\N`).decode(ch())
	if rec.NumRows() != 1 || len(rejects) != 4 {
		t.Fatalf("reject policy: %d rows, %d rejects, want 1 and 4", rec.NumRows(), len(rejects))
	}
	rec.Release()

	d := newDecoderPolicy(memory.DefaultAllocator, schema, 1, `\N`, true, true)
	rec, rejects = d.decode(ch())
	defer rec.Release()
	want := []string{"x|1|y", "short|2|NULL", "long|3|z", "bad|NULL|w", "only|NULL|NULL"}
	if got := dump(rec); len(rejects) != 0 || !reflect.DeepEqual(got, want) {
		t.Fatalf("null policy: %q (rejects %v), want %q", got, rejects, want)
	}
	if d.nulled != 1+2+1+2 {
		t.Fatalf("nulled %d fields, want 6", d.nulled)
	}

	// bad_value alone: the short line is still rejected.
	rec2, rejects := newDecoderPolicy(memory.DefaultAllocator, schema, 1, `\N`, true, false).decode(ch())
	defer rec2.Release()
	if rec2.NumRows() != 2 || len(rejects) != 3 {
		t.Fatalf("bad_value only: %d rows, %d rejects, want 2 and 3", rec2.NumRows(), len(rejects))
	}
}
