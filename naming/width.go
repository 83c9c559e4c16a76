package naming

import (
	"fmt"
	"sort"
)

// WidthRule is one entry of an effective-dated sequence-width list: from
// the period From (YYYYMMDD) on, sequences have Width digits. Keeping the
// old entries lets a re-run of an old period reproduce the names it had.
type WidthRule struct {
	From  string `yaml:"from"`
	Width int    `yaml:"width"`
}

// DefaultWidth applies when no rule covers a period.
const DefaultWidth = 4

// SeqWidth returns the width in force for period (YYYYMMDD...): the rule
// with the latest From not after it.
func SeqWidth(rules []WidthRule, period string) int {
	rs := append([]WidthRule(nil), rules...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].From < rs[j].From })
	w := DefaultWidth
	day := period
	if len(day) > 8 {
		day = day[:8]
	}
	for _, r := range rs {
		if r.From <= day {
			w = r.Width
		}
	}
	return w
}

// MaxSeq is the largest sequence that fits in width digits.
func MaxSeq(width int) int {
	n := 1
	for range width {
		n *= 10
	}
	return n - 1
}

// CheckCapacity fails when n files cannot be numbered in width digits. Call
// it before writing anything: a set must never wrap or collide.
func CheckCapacity(iface, period string, n, width int) error {
	if max := MaxSeq(width); n > max {
		return fmt.Errorf("interface %s period %s needs %d files but the sequence width %d allows only %d: add a wider sequence rule (seq_width) from this period on", iface, period, n, width, max)
	}
	return nil
}
