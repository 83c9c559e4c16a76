package config

import (
	"strings"
	"testing"
)

// An unknown key names its path in the file and the nearest known key,
// not a Go type.
func TestUnknownKeyNamesPathAndSuggests(t *testing.T) {
	y := `workdir: /tmp/w
sources:
  local: {type: file, root: /tmp/src}
targets:
  plat:
    primary: [{host: 127.0.0.1, port: 22}]
    user: u
    auth: {key_file: /k}
    known_hosts: /kh
    retry: 3
interfaces:
  "51007":
    source: local
    path: ods/dt={date}
    routes: [{target: plat, dri: /in}]
`
	_, err := Parse([]byte(y))
	if err == nil {
		t.Fatal("unknown keys accepted")
	}
	msg := err.Error()
	for _, want := range []string{
		`line 10: targets.plat.retry: unknown key "retry" (did you mean retries?)`,
		`interfaces.51007.routes[0].dri: unknown key "dri" (did you mean dir?)`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "config.Target") || strings.Contains(msg, "not found in type") {
		t.Errorf("error names Go types:\n%s", msg)
	}
}

// Keys of an inline section (a source's HDFS keys) are suggested too.
func TestUnknownKeySuggestsInlineKeys(t *testing.T) {
	_, err := Parse([]byte("workdir: /tmp/w\nsources:\n  hdfs1: {type: hdfs, retrys: 3}\ninterfaces: {}\n"))
	if err == nil || !strings.Contains(err.Error(), `sources.hdfs1.retrys: unknown key "retrys" (did you mean retries?)`) {
		t.Errorf("got %v", err)
	}
}
