package config

import (
	"strings"
	"testing"
)

// withDims adds a dims section (and ads entries) to transformBase.
func withDims(t *testing.T, dims, ads string) string {
	t.Helper()
	y := withADS(t, ads)
	return strings.Replace(y, "  ods:\n", "  dims:\n"+dims+"  ods:\n", 1)
}

const dimMapping = `    mapping:
      source: local
      path: dim/mapping/dt={date}
      columns: {domain: string, interface: string, w: bigint, r: double}
`

// A lookup names its dim in dim_value and dim_match calls: its columns
// stand for the call, an inner lookup is part of the condition.
func TestLookupExpands(t *testing.T) {
	c, err := Parse([]byte(withDims(t, dimMapping, `    "51007":
      from: events
      lookups:
        - {dim: mapping, on: {domain: os}, where: 'interface == "51007"', columns: {iface: interface}}
      filter: iface != "x"
      columns: {event_id: event_id, iface: iface}
`)))
	if err != nil {
		t.Fatal(err)
	}
	a := c.Transform.ADS["51007"]
	l := a.Lookups[0]
	if l.ID != "ads.51007.mapping" || l.Type != JoinInner {
		t.Errorf("lookup %+v", l)
	}
	if got, want := a.Condition(), `dim_match("ads.51007.mapping", os) && (iface != "x")`; got != want {
		t.Errorf("condition %s, want %s", got, want)
	}
	if got, want := a.Names()["iface"], `dim_value("ads.51007.mapping", "interface", os)`; got != want {
		t.Errorf("iface %s, want %s", got, want)
	}
	d := c.Transform.Dims
	if d["mapping"].MaxRows != DefaultDimMaxRows || d["mapping"].Format != "text" {
		t.Errorf("dim defaults %+v", d["mapping"])
	}
}

// Every problem of a lookup or a dim is reported at its key.
func TestLookupErrors(t *testing.T) {
	for _, c := range []struct {
		dims, ads, dwd string
		want           []string
	}{
		{dimMapping, `    "51007":
      from: events
      lookups: [{dim: nope, on: {domain: os}}]
      columns: {event_id: event_id}
`, "", []string{`transform.ads.51007.lookups[0].dim: unknown dim "nope" (declare it under transform.dims)`}},
		{dimMapping, `    "51007":
      from: events
      lookups: [{dim: mapping, type: outer, on: {domian: os, w: nope}, columns: {os: interface, x: nope}}]
      columns: {event_id: event_id}
`, "", []string{`transform.ads.51007.lookups[0].type: "outer" is not inner or left`,
			`transform.ads.51007.lookups[0].on.domian: "domian" is not a column of dim mapping (it has domain, interface, w, r)`,
			"transform.ads.51007.lookups[0].on.w: expression at config line", "unknown name nope",
			"transform.ads.51007.lookups[0].columns.os: os is already a column here",
			`transform.ads.51007.lookups[0].columns.x: "nope" is not a column of dim mapping`}},
		{dimMapping, `    "51007":
      from: events
      lookups: [{dim: mapping, on: {r: os}}]
      columns: {event_id: event_id}
`, "", []string{"transform.ads.51007.lookups[0].on: lookup ads.51007.mapping: key column r is a double: Hive compares double keys as numbers, chama refuses them"}},
		{dimMapping, `    "51007":
      from: events
      lookups: [{dim: mapping, on: {domain: os}, where: 'nope == 1'}, {dim: mapping, on: {domain: os}}]
      columns: {event_id: event_id}
`, "", []string{"transform.ads.51007.lookups[0].where: in: nope == 1", "transform.ads.51007.lookups[1].as: two lookups are named mapping in one table: set as"}},
		{dimMapping, `    "51007":
      from: events
      columns: {event_id: event_id}
`, "      lookups: [{dim: mapping, type: inner, on: {domain: os}}]\n",
			[]string{"transform.dwd.events.lookups[0].type: an inner lookup drops rows, and a dwd table keeps every row: use type: left here"}},
		{`    mapping:
      source: nosuch
      path: dim/{hour}
      file: x
      format: csv
      columns: {a: text}
      max_rows: -1
`, `    "51007":
      from: events
      columns: {event_id: event_id}
`, "", []string{`transform.dims.mapping.source: unknown source "nosuch"`, "transform.dims.mapping.file: set path (a folder) or file, not both",
			"transform.dims.mapping.path: a dimension table is read once a run: {date} only, no {hour}", `transform.dims.mapping.format: "csv" is not text or parquet`,
			`transform.dims.mapping.columns.a: type "text" is not string, bigint or double`, "transform.dims.mapping.max_rows: must be at least 1"}},
		{dimMapping, `    "51007":
      from: events
      lookups: [{dim: mapping, on: {domain: os}, colums: {x: interface}}]
      columns: {event_id: event_id}
`, "", []string{"colums"}},
		{dimMapping, `    "51007":
      select: SELECT e.event_id, m.nope AS x FROM events e JOIN mapping m ON e.os = m.domain
`, "", []string{"transform.ads.51007.select (x, as translated)", "dim_value: nope is not a column of dim mapping"}},
		{dimMapping, `    "51007":
      from: events
      columns: {event_id: event_id}
`, "      select: SELECT events.* FROM events JOIN mapping m ON events.ip = m.domain\n",
			[]string{"JOIN m is an inner join, which drops the rows without a match, and a dwd table keeps every row: write LEFT JOIN here"}},
		{dimMapping, `    "51007":
      select: SELECT e.event_id, interface AS i FROM events e JOIN mapping m ON e.os = m.domain
`, "", []string{"interface is a column of m, not of events: write m.interface"}},
		{strings.Replace(dimMapping, "r: double}", "r: double, os: string}", 1), `    "51007":
      select: SELECT e.event_id FROM events e JOIN mapping m ON e.os = m.domain WHERE os = 'x'
`, "", []string{"os is a column of both events and m: qualify it (Hive: ambiguous column reference)"}},
		{dimMapping, `    "51007":
      from: events
      columns: {event_id: event_id}
`, "      select: SELECT events.*, trim(ip) AS ip, m.interface AS i FROM events LEFT JOIN mapping m ON events.ip = m.domain\n",
			[]string{"trim(ip) AS ip replaces the ods column ip, which i reads after it: Hive would read the ods column there"}},
		{dimMapping, `    "51007":
      select: SELECT e.event_id, m.w AS w FROM events e JOIN (SELECT DISTINCT domain, w, bogus FROM mapping) m ON e.os = m.domain
`, "", []string{"distinct column bogus is not a column of dim mapping"}},
	} {
		y := withDims(t, c.dims, c.ads)
		if c.dwd != "" {
			if strings.HasPrefix(c.dwd, "      select:") {
				i, j := strings.Index(y, "    events:\n      from: events\n"), strings.Index(y, "  ads:\n")
				y = y[:i] + "    events:\n" + c.dwd + y[j:]
			} else {
				y = strings.Replace(y, "      drop: [attributes]\n", "      drop: [attributes]\n"+c.dwd, 1)
			}
		}
		_, err := Parse([]byte(y))
		if err == nil {
			t.Errorf("%s: no error", c.want[0])
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error lacks %q:\n%v", w, err)
			}
		}
	}
}
