//go:build unix

// Command packtool measures what `make bench-pack` reports beside the
// wall-clock times:
//
//	packtool ceiling -level 6 -mb 256 FILE...   one core decompressing and
//	    recompressing the inputs with klauspost/compress gzip; prints the
//	    raw bytes per second of that one core
//	packtool rss -- CMD ARGS...                 runs CMD and prints its peak
//	    resident set (from getrusage), so no /usr/bin/time is needed
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"

	"github.com/klauspost/compress/gzip"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: packtool ceiling|rss ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "ceiling":
		err = ceiling(os.Args[2:])
	case "rss":
		err = rss(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			os.Exit(ee.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "packtool:", err)
		os.Exit(1)
	}
}

// ceiling decompresses and recompresses on one core until -mb MiB of raw
// data have gone through, and prints "ceiling_bytes_per_sec_per_core=N".
func ceiling(args []string) error {
	fs := flag.NewFlagSet("ceiling", flag.ContinueOnError)
	level := fs.Int("level", 6, "gzip level")
	mb := fs.Int64("mb", 256, "raw MiB to measure over (0: all the files)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	runtime.GOMAXPROCS(1)
	limit := *mb << 20
	buf := make([]byte, 1<<20)
	zw, err := gzip.NewWriterLevel(io.Discard, *level)
	if err != nil {
		return err
	}
	var raw int64
	start := time.Now()
	for _, name := range fs.Args() {
		if limit > 0 && raw >= limit {
			break
		}
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		zr, err := gzip.NewReader(bufio.NewReaderSize(f, 256<<10))
		if err != nil {
			f.Close()
			return fmt.Errorf("%s: %w", name, err)
		}
		zw.Reset(io.Discard)
		n, err := io.CopyBuffer(zw, zr, buf)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := zw.Close(); err != nil {
			return err
		}
		raw += n
	}
	secs := time.Since(start).Seconds()
	if raw == 0 {
		return errors.New("no data")
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Printf("ceiling_raw_bytes=%d ceiling_secs=%.3f ceiling_cpu_secs=%.3f ceiling_bytes_per_sec_per_core=%.0f\n", raw, secs, cpuSecs(&ru), float64(raw)/secs)
	return nil
}

func cpuSecs(ru *syscall.Rusage) float64 {
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// rss runs a command and prints its peak RSS in KiB and the CPU time it
// used to stderr as "peak_rss_kib=N cpu_secs=S" (the command's own output
// is left as it is).
func rss(args []string) error {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		return errors.New("rss: no command")
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			fmt.Fprintf(os.Stderr, "peak_rss_kib=%d cpu_secs=%.3f\n", ru.Maxrss, cpuSecs(ru))
		}
	}
	return err
}
