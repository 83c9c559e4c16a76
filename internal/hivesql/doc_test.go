package hivesql

import (
	"os"
	"strings"
	"testing"
)

// The statements of docs/transform.md, "Writing a layer as a Hive SELECT",
// translate, and the 51006 filter is the one the section shows.
func TestDocExample(t *testing.T) {
	b, err := os.ReadFile("../../docs/transform.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "### Writing a layer as a Hive SELECT")
	if i < 0 {
		t.Fatal("no section")
	}
	s = s[i:]
	block := s[strings.Index(s, "```yaml\n")+8:]
	block = block[:strings.Index(block, "```")]
	var stmts []string
	for _, part := range strings.Split(block, "select: |\n")[1:] {
		var lines []string
		for _, l := range strings.Split(part, "\n") {
			if !strings.HasPrefix(l, "        ") {
				break
			}
			lines = append(lines, strings.TrimPrefix(l, "        "))
		}
		stmts = append(stmts, strings.Join(lines, "\n"))
	}
	if len(stmts) != 2 {
		t.Fatalf("%d statements in the example, want 2", len(stmts))
	}
	for _, st := range stmts {
		if _, err := Translate(st); err != nil {
			t.Errorf("%s\n%v", st, err)
		}
	}
	q, _ := Translate(stmts[0])
	if q == nil || !strings.Contains(s, "`"+q.Filter+"`") {
		t.Errorf("the section does not show the 51006 filter as translated: %+v", q)
	}
}
