package config

import (
	"fmt"
	"strings"
	"testing"
)

// An input path must stay under its source root: pull would otherwise
// read from and write into places outside it.
func TestValidateRefusesEscapingPaths(t *testing.T) {
	for _, p := range []string{"../ods/dt={date}", "ods/../../x/dt={date}", "/etc/dt={date}", `ods\..\x`, "."} {
		y := fmt.Sprintf(`workdir: /tmp/w
sources:
  local: {type: file, root: /tmp/src}
interfaces:
  "51007":
    source: local
    path: %q
`, p)
		_, err := Parse([]byte(y))
		if err == nil || !strings.Contains(err.Error(), "interfaces.51007.path") {
			t.Errorf("path %q: got %v, want a refusal naming interfaces.51007.path", p, err)
		}
	}
}
