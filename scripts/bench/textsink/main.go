//go:build unix

// Command textsink is chama's side of the plain-text comparison in
// scripts/bench/transform-duckdb.sh: it runs one ADS interface of a config
// with transform.Stream (the pack stage's hook: no Parquet, batches in
// input order) and writes its rows as plain text lines, the columns joined
// by -delim with null as an empty value (transform.AppendLine, as pack
// builds its lines), without pack's gzip, naming and publishing. It prints
// the rows written, wall seconds and its own CPU seconds.
//
//	go run ./scripts/bench/textsink -config c.yaml -date 2024121207 -iface 51007 -out /tmp/x.txt
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/etl/transform"
	"github.com/chama-data/chama/naming"
)

func main() {
	cfgPath := flag.String("config", "", "chama config")
	date := flag.String("date", "", "period (YYYYMMDD or YYYYMMDDHH)")
	iface := flag.String("iface", "", "ADS interface")
	out := flag.String("out", "", "output text file")
	delim := flag.String("delim", "\x01", "output delimiter (one byte)")
	flag.Parse()
	if err := run(*cfgPath, *date, *iface, *out, *delim); err != nil {
		fmt.Fprintln(os.Stderr, "textsink:", err)
		os.Exit(1)
	}
}

func run(cfgPath, date, iface, out, delim string) error {
	start := time.Now()
	if cfgPath == "" || date == "" || iface == "" || out == "" || len(delim) != 1 {
		return fmt.Errorf("-config, -date, -iface, -out and a one-byte -delim are required")
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	p, err := naming.ParsePeriod(date)
	if err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	var line []byte
	var rows int64
	sum, err := transform.Stream(context.Background(), transform.Options{Config: cfg, Layer: transform.LayerADS,
		Period: p, Names: []string{iface}, RejectPath: out + ".rejects.txt"}, func(_ string, o transform.Output) error {
		n := int(o.Rec.NumRows())
		for r := 0; r < n; r++ {
			line = transform.AppendLine(line[:0], o.Rec, r, delim[0], "")
			line = append(line, '\n')
			if _, err := w.Write(line); err != nil {
				return err
			}
		}
		rows += int64(n)
		return nil
	})
	if err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if got := sum.Rows[iface].Written; got != rows {
		return fmt.Errorf("wrote %d rows, transform counted %d", rows, got)
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return err
	}
	u, s := time.Duration(ru.Utime.Nano()).Seconds(), time.Duration(ru.Stime.Nano()).Seconds()
	fmt.Printf("rows=%d wall=%.3f cpu=%.3f user=%.3f sys=%.3f\n", rows, time.Since(start).Seconds(), u+s, u, s)
	return nil
}
