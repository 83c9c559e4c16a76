package config

import (
	"strings"
	"testing"
)

// FuzzParse: any YAML either loads or fails with an error that never
// names a Go type; a config that loads validates.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`workdir: /tmp/w
sources:
  local: {type: file, root: /tmp/src}
interfaces:
  "51007":
    source: local
    path: ods/dt={date}
`))
	f.Add([]byte("workdir: [\n"))
	f.Add([]byte("interfaces: {x: {retry: 1}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if strings.Contains(err.Error(), "not found in type config.") {
				t.Fatalf("an unknown key is reported with a Go type: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that Validate refuses: %v", err)
		}
	})
}
