package main

import (
	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/ledger"
	"github.com/chama-data/chama/internal/obs"
)

// recorder returns what every stage uses to record its runs: the run
// ledger (config.Ledger), the --metrics-file textfile and the logger with
// the fixed keys. Call the returned close when the command ends. A ledger
// that cannot be opened is logged and the stage runs without it: the
// ledger is a record, not a gate.
func (g *globals) recorder(c *config.Config) (*obs.Recorder, func()) {
	rc := &obs.Recorder{MetricsFile: g.MetricsFile, Log: g.Log, RunID: g.RunID}
	l, err := ledger.Open(c)
	if err != nil {
		g.Log.Warn("run ledger unavailable; runs are not recorded", obs.Err(err))
		return rc, func() {}
	}
	rc.Ledger = l
	return rc, func() { l.Close() }
}
