package config

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeExample keeps the README's configuration reference honest: its
// example must load as it stands.
func TestReadmeExample(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	i := strings.Index(s, "## Configuration reference")
	if i < 0 {
		t.Fatal("README has no Configuration reference section")
	}
	s = s[i:]
	start := strings.Index(s, "```yaml\n")
	if start < 0 {
		t.Fatal("no yaml example in the Configuration reference")
	}
	s = s[start+len("```yaml\n"):]
	end := strings.Index(s, "```")
	c, err := Parse([]byte(s[:end]))
	if err != nil {
		t.Fatalf("README example does not load:\n%v", err)
	}
	if len(c.Interfaces) != 2 || c.Interfaces["CM001"].PartitionField != 5 || c.Sources["cluster"].Fallback != "hive" {
		t.Errorf("README example loaded oddly: %+v", c)
	}
}
