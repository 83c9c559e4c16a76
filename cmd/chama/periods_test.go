package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/chama-data/chama/internal/exit"
)

// TestDateListBound: the 400-day bound holds for a whole --date list, not
// for each range: 40 ranges of 300 days of hours made `status` list
// 288,240 periods; now every command refuses them at once with exit 2,
// naming the count and the limit.
func TestDateListBound(t *testing.T) {
	var items []string
	for y := 1990; y < 2030; y++ {
		items = append(items, fmt.Sprintf("%d010100..%d102723", y, y))
	}
	for _, cmd := range []string{"status", "pack", "verify"} {
		root := newRoot()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetArgs([]string{cmd, "--config", writeMinimalConfig(t), "--date", strings.Join(items, ",")})
		err := execute(t.Context(), root)
		if exit.Code(err) != exit.Usage || !strings.Contains(err.Error(), "--date: too many periods: 288240 hours, more than the limit of 9600 hours (400 days)") {
			t.Errorf("chama %s: exit %d, %v", cmd, exit.Code(err), err)
		}
	}
}
