package main

import (
	"io"
	"log/slog"
	"os"

	"github.com/mattn/go-isatty"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/ledger"
	"github.com/chama-data/chama/internal/obs"
)

// version is set by the Makefile through -ldflags.
var version = "dev"

// Factory is what every command shares: the output streams, the global
// flags (--config, --log-format, -v, --metrics-file) and what is made of
// them once they are parsed (the logger, the run id). NewCmdRoot binds the
// global flags to it; each NewCmd* constructor gets the same Factory and
// hands it to its options.
type Factory struct {
	Stdout  io.Writer
	Stderr  io.Writer
	Version string

	// The global flags.
	ConfigPath string
	LogFormat  string
	Verbose    int
	// MetricsFile is --metrics-file: a Prometheus textfile every stage
	// run updates (see internal/metrics).
	MetricsFile string

	// Set by Setup, before any command runs.
	Log   *slog.Logger
	RunID string // names this process's runs
}

// NewFactory is the Factory of the process: os.Stdout and os.Stderr as
// they are now, and the build's version.
func NewFactory() *Factory {
	return &Factory{Stdout: os.Stdout, Stderr: os.Stderr, Version: version}
}

// Setup makes the logger from --log-format and -v (and makes it the
// default) and picks the run id. The root command calls it before any
// command runs.
func (f *Factory) Setup() error {
	level := slog.LevelInfo
	if f.Verbose > 0 {
		level = slog.LevelDebug
	}
	o := &slog.HandlerOptions{Level: level}
	switch f.LogFormat {
	case "text":
		f.Log = slog.New(slog.NewTextHandler(f.Stderr, o))
	case "json":
		f.Log = slog.New(obs.NewJSONHandler(f.Stderr, o))
	default:
		return exit.Usagef("--log-format %q: want text or json", f.LogFormat)
	}
	slog.SetDefault(f.Log)
	f.RunID = obs.NewRunID()
	return nil
}

// Config loads the config; any problem is a usage error (exit 2).
func (f *Factory) Config() (*config.Config, error) {
	c, err := config.Load(f.ConfigPath)
	if err != nil {
		return nil, exit.With(exit.Usage, err)
	}
	return c, nil
}

// Recorder returns what every stage uses to record its runs: the run
// ledger (config.Ledger), the --metrics-file textfile and the logger with
// the fixed keys. Call the returned close when the command ends. A ledger
// that cannot be opened is logged and the stage runs without it: the
// ledger is a record, not a gate.
func (f *Factory) Recorder(c *config.Config) (*obs.Recorder, func()) {
	rc := &obs.Recorder{MetricsFile: f.MetricsFile, Log: f.Log, RunID: f.RunID}
	l, err := ledger.Open(c)
	if err != nil {
		f.Log.Warn("run ledger unavailable; runs are not recorded", obs.Err(err))
		return rc, func() {}
	}
	rc.Ledger = l
	return rc, func() { l.Close() }
}

// Terminal is stderr when it is a terminal (progress bars are drawn on
// it), else nil (progress is logged every 10 s instead).
func (f *Factory) Terminal() io.Writer {
	if fd, ok := f.Stderr.(*os.File); ok && isatty.IsTerminal(fd.Fd()) {
		return f.Stderr
	}
	return nil
}
