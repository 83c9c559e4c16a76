// Package logkey names the fixed log keys. With --log-format json every
// line carries all of them (null when a line has no value for one), so
// log pipelines can rely on one schema; stages log through these names
// rather than typing the strings. It is a leaf, so any package may use
// it without pulling in the ledger.
package logkey

const (
	RunID   = "run_id"
	Stage   = "stage"
	Iface   = "iface"
	Period  = "period"
	File    = "file"
	Rows    = "rows"
	Bytes   = "bytes"
	Host    = "host"
	Attempt = "attempt"
	Err     = "err"
)

// Fixed lists the keys in the order they are written.
var Fixed = []string{RunID, Stage, Iface, Period, File, Rows, Bytes, Host, Attempt, Err}
