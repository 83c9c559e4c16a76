package config

import (
	"reflect"
	"strings"
	"testing"
)

// The 51007 entry of transformBase as a SELECT.
const select51007 = `    "51007":
      partition: prov
      select: |
        SELECT event_id, os, e.wt_av, prov
          FROM events e
         WHERE data_source_id IN ('a', 'b')
`

// withADS replaces the ads section of transformBase.
func withADS(t *testing.T, ads string) string {
	t.Helper()
	i := strings.Index(transformBase, "  ads:\n")
	if i < 0 {
		t.Fatal("fixture lacks ads")
	}
	return transformBase[:i] + "  ads:\n" + ads
}

// A SELECT fills from, filter and columns as the YAML form does.
func TestSelectADSLoads(t *testing.T) {
	yc, err := Parse([]byte(transformBase))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := Parse([]byte(withADS(t, select51007)))
	if err != nil {
		t.Fatal(err)
	}
	y, s := yc.Transform.ADS["51007"], sc.Transform.ADS["51007"]
	if s.From != y.From || s.Filter != y.Filter || s.Partition != y.Partition {
		t.Errorf("got from %q filter %q partition %q, want %q %q %q", s.From, s.Filter, s.Partition, y.From, y.Filter, y.Partition)
	}
	if !reflect.DeepEqual(s.Columns.Names(), y.Columns.Names()) {
		t.Errorf("columns %v, want %v", s.Columns.Names(), y.Columns.Names())
	}
	if s.Columns[0].Line != 37 {
		t.Errorf("config line of the columns: %d, want 37 (the statement's first line)", s.Columns[0].Line)
	}
	// SELECT *: every DWD column, in order.
	sc, err = Parse([]byte(withADS(t, "    \"51007\":\n      select: SELECT * FROM events\n")))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sc.Transform.ADS["51007"].Columns.Names(), sc.Transform.DWDColumns("events"); !reflect.DeepEqual(got, want) {
		t.Errorf("select * columns %v, want %v", got, want)
	}
}

// A DWD table as a SELECT: listed ODS columns kept, the others derived.
func TestSelectDWDLoads(t *testing.T) {
	y := strings.Replace(transformBase, `      from: events
      drop: [attributes]
      derive:
        attrs: url_decode(attributes)
        os: ua_os(user_agent)
        wt_av: nvl(empty_null(get_json_object(attrs, "$.WT_av")), concat("APP_", lower(os), "_", "1"))
        prov: ip_prov(ip)
        mobile: decrypt_mobile(user_key, user_id)
`, `      select: |
        SELECT event_id, data_source_id, user_key, user_id, user_agent, ip, mc_ev, ts,
               url_decode(attributes) AS attrs, ua_os(user_agent) AS os,
               nvl(empty_null(get_json_object(attrs, '$.WT_av')), concat('APP_', lower(os), '_', '1')) AS wt_av,
               ip_prov(ip) AS prov, decrypt_mobile(user_key, user_id) AS mobile
          FROM events
`, 1)
	if y == transformBase {
		t.Fatal("fixture lacks the dwd table")
	}
	c, err := Parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	want := "event_id,data_source_id,user_key,user_id,user_agent,ip,mc_ev,ts,attrs,os,wt_av,prov,mobile"
	if got := strings.Join(c.Transform.DWDColumns("events"), ","); got != want {
		t.Errorf("dwd columns\n got %s\nwant %s", got, want)
	}
}

// A SELECT that cannot be used is an error at .select with the construct,
// its place in the statement and the config line.
func TestSelectErrors(t *testing.T) {
	for _, c := range []struct {
		ads  string
		want []string
	}{
		{"    \"51007\":\n      from: events\n      select: SELECT event_id FROM events\n",
			[]string{"transform.ads.51007.select: set select or from, not both"}},
		{"    \"51007\":\n      select: |\n        SELECT event_id\n          FROM events e JOIN dim d ON e.ip = d.ip\n",
			[]string{`transform.ads.51007.select (JOIN d, as translated).dim: unknown dim "dim" (declare it under transform.dims)`}},
		{"    \"51007\":\n      select: |\n        SELECT event_id\n          FROM events e RIGHT JOIN dim d ON e.ip = d.ip\n",
			[]string{"transform.ads.51007.select: RIGHT JOIN is not supported", "at line 2, column 17 of the statement (config line 37)"}},
		{"    \"51007\":\n      select: SELECT event_id FROM evts\n",
			[]string{"transform.ads.51007.select: FROM evts: unknown dwd table (known: events)", "config line 35"}},
		{"    \"51007\":\n      select: |\n        SELECT upper(os) FROM events\n",
			[]string{"transform.ads.51007.select: give the expression a name with AS: upper(os)", "config line 36"}},
		{"    \"51007\":\n      select: |\n        SELECT event_id FROM events\n        GROUP BY event_id\n",
			[]string{"GROUP BY is not supported", "at line 2, column 1 of the statement (config line 37)"}},
		{"    \"51007\":\n      select: |\n        SELECT concat(event_idd, 'x') AS e FROM events\n",
			[]string{"transform.ads.51007.select (e, as translated): expression at config line 36", `in: concat(event_idd, "x")`, "unknown name event_idd"}},
		{"    \"51007\":\n      select: |\n        SELECT event_id FROM events WHERE nope = 1\n",
			[]string{"transform.ads.51007.select (WHERE, as translated)", "unknown name nope"}},
		{"    \"51007\":\n      partition: nope\n      select: SELECT event_id FROM events\n",
			[]string{`transform.ads.51007.partition: "nope" is not one of the output columns`}},
	} {
		_, err := Parse([]byte(withADS(t, c.ads)))
		if err == nil {
			t.Errorf("%s: no error", c.ads)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error lacks %q:\n%v", c.ads, w, err)
			}
		}
	}
}
