package config

import (
	"strings"
	"testing"
)

// A line break as a delimiter or inside the replacement text would split
// an output line in two, so a file would no longer hold exactly its
// counted lines: validation refuses it, naming the key.
func TestDelimitersMustNotBreakLines(t *testing.T) {
	for _, tc := range []struct{ keys, want string }{
		{`out_delimiter: "\n"`, "interfaces.X.out_delimiter: must not be a line break"},
		{`out_delimiter: "\r"`, "interfaces.X.out_delimiter: must not be a line break"},
		{`delimiter: "\n"`, "interfaces.X.delimiter: must not be a line break"},
		{`embedded_delimiter: "replace:\n"`, "interfaces.X.embedded_delimiter: the replacement \"\\n\" holds a line break"},
		{`embedded_delimiter: "replace:a\rb"`, "interfaces.X.embedded_delimiter: the replacement \"a\\rb\" holds a line break"},
	} {
		y := "workdir: w\nsources:\n  s: {type: file, root: r}\ninterfaces:\n  X:\n    source: s\n    path: x/{date}\n    " + tc.keys + "\n"
		_, err := Parse([]byte(y))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.keys, err, tc.want)
		}
	}
}
