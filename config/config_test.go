package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadExample(t *testing.T) {
	c, err := Load("../testdata/config/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.InterfaceNames(); strings.Join(got, ",") != "51007,CM001" {
		t.Errorf("interfaces %v", got)
	}
	i := c.Interfaces["51007"]
	if i.LinesPerFile != 800000 || i.Delimiter != "\x01" || i.OutDelimiter != "|" || i.GzipLevel != 6 || i.Granularity != "day" {
		t.Errorf("defaults not applied: %+v", i)
	}
	if p, _ := ParsePolicy(i.EmbeddedDelimiter); p.Mode != "replace" || p.With != " " {
		t.Errorf("policy %+v", p)
	}
	if !filepath.IsAbs(c.Workdir) || !strings.HasSuffix(c.Workdir, "work") {
		t.Errorf("workdir not resolved against the config file: %s", c.Workdir)
	}
	if tg := c.Targets["panda"]; tg.Primary[0].Addr() != "127.0.0.1:2201" || tg.Timeout.D().Seconds() != 60 || tg.PartSuffix != ".part" {
		t.Errorf("target %+v", tg)
	}
}

func TestUnknownKeyIsAnError(t *testing.T) {
	_, err := Parse([]byte("workdir: x\ninterfaces:\n  a1:\n    sorce: s\n"))
	if err == nil || !strings.Contains(err.Error(), "sorce") || !strings.Contains(err.Error(), "line 4") {
		t.Fatalf("want an error naming the key and line, got %v", err)
	}
}

// Every problem is reported at once, each with its key path.
func TestValidateReportsEveryProblemWithKeyPath(t *testing.T) {
	y := `
sources:
  s: {type: ftp}
targets:
  t:
    primary: [{host: "", port: 70000}]
interfaces:
  "51007":
    source: nope
    path: ads/hour={hour}
    lines_per_file: -1
    partition_field: 3
    file_name: x_{date}_{seq}.gz
    charset: latin1
    embedded_delimiter: squash
    verf_columns: [name, colour]
    seq_width: [{from: "2024", width: 12}]
    routes: [{target: missing}]
  "bad-name":
    source: s
    path: x/{date}
`
	_, err := Parse([]byte(y))
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{
		"sources.s.type:",
		"targets.t.primary[0].host:",
		"targets.t.primary[0].port:",
		"targets.t.user:",
		"targets.t.auth:",
		"targets.t.known_hosts:",
		"interfaces.51007.source: unknown source \"nope\"",
		"interfaces.51007.path:",
		"interfaces.51007.lines_per_file:",
		"interfaces.51007.charset:",
		"interfaces.51007.embedded_delimiter:",
		"interfaces.51007.file_name: the interface is partitioned",
		"interfaces.51007.verf_columns[1]: unknown column \"colour\"",
		"interfaces.51007.seq_width[0].from:",
		"interfaces.51007.seq_width[0].width:",
		"interfaces.51007.routes[0].target: unknown target \"missing\"",
		"interfaces.bad-name: interface names are letters and digits",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
}

func TestSelect(t *testing.T) {
	c, err := Load("../testdata/config/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	is, err := c.Select("CM001,51007,CM001")
	if err != nil || len(is) != 2 || is[0].Name != "CM001" {
		t.Fatalf("select: %v %v", is, err)
	}
	if _, err := c.Select("51007,99999"); err == nil || !strings.Contains(err.Error(), `"99999"`) {
		t.Errorf("unknown interface: %v", err)
	}
}

func TestLoadMissingFileSaysWhatToDo(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "chama.yaml"))
	if err == nil || !strings.Contains(err.Error(), "--config") {
		t.Fatalf("got %v", err)
	}
}

func TestHourlyInterfaceNeedsHourInNames(t *testing.T) {
	y := `
sources: {s: {type: file, root: /x}}
interfaces:
  "51001":
    source: s
    path: a/dt={date}/hour={hour}
    granularity: hour
`
	_, err := Parse([]byte(y))
	if err == nil || !strings.Contains(err.Error(), "interfaces.51001.file_name: an hourly interface") {
		t.Fatalf("got %v", err)
	}
	ok := strings.Replace(y, "granularity: hour", "granularity: hour\n    file_name: a_{period}_{iface}_{seq}.gz\n    verf_name: a_{period}_{iface}.verf", 1)
	if _, err := Parse([]byte(ok)); err != nil {
		t.Fatal(err)
	}
	_ = os.Getenv
}
