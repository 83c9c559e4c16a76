package config

import (
	"strings"
	"testing"
)

const transformBase = `
sources:
  local: {type: file, root: /data}
interfaces:
  "51007": {source: local, path: "ads/51007/dt={date}"}
transform:
  ip_db: /nonexistent/ip.xdb
  mobile_key_env: CHAMA_MOBILE_KEY
  ods:
    events:
      source: local
      path: ods/events/dt={date}/hour={hour}
      columns:
        event_id: string
        data_source_id: string
        user_key: string
        user_id: string
        user_agent: string
        ip: string
        mc_ev: string
        attributes: string
        ts: bigint
  dwd:
    events:
      from: events
      drop: [attributes]
      derive:
        attrs: url_decode(attributes)
        os: ua_os(user_agent)
        wt_av: nvl(empty_null(get_json_object(attrs, "$.WT_av")), concat("APP_", lower(os), "_", "1"))
        prov: ip_prov(ip)
        mobile: decrypt_mobile(user_key, user_id)
  ads:
    "51007":
      from: events
      filter: data_source_id in ["a", "b"]
      partition: prov
      columns:
        event_id: event_id
        os: os
        wt_av: wt_av
        prov: prov
`

func TestTransformSpecLoads(t *testing.T) {
	c, err := Parse([]byte(transformBase))
	if err != nil {
		t.Fatal(err)
	}
	tr := c.Transform
	if tr.BatchRows != 8192 || tr.Workers < 1 || tr.ODS["events"].Delimiter != "\x01" || tr.ODS["events"].Null != `\N` {
		t.Errorf("defaults not applied: %+v", tr)
	}
	if got := strings.Join(tr.ODS["events"].Columns.Names(), ","); got != "event_id,data_source_id,user_key,user_id,user_agent,ip,mc_ev,attributes,ts" {
		t.Errorf("column order lost: %s", got)
	}
	want := "event_id,data_source_id,user_key,user_id,user_agent,ip,mc_ev,ts,attrs,os,wt_av,prov,mobile"
	if got := strings.Join(tr.DWDColumns("events"), ","); got != want {
		t.Errorf("dwd columns\n got %s\nwant %s", got, want)
	}
	if got := strings.Join(tr.ADS["51007"].Columns.Names(), ","); got != "event_id,os,wt_av,prov" {
		t.Errorf("ads order: %s", got)
	}
}

// A spec error names the key, the expression and the position in it.
func TestTransformSpecErrorPointsAtExpression(t *testing.T) {
	cases := []struct{ from, to, want []string }{
		{[]string{`os: ua_os(user_agent)`}, []string{`os: ua_oss(user_agent)`},
			[]string{"transform.dwd.events.derive.os", "in: ua_oss(user_agent)", "unknown name ua_oss", "(1:1)", "config line"}},
		{[]string{`event_id: event_id`}, []string{`event_id: concat(event_idd, "x")`},
			[]string{"transform.ads.51007.columns.event_id", `in: concat(event_idd, "x")`, "unknown name event_idd", "(1:8)"}},
		{[]string{`filter: data_source_id in ["a", "b"]`}, []string{`filter: regexp_like(mc_ev, "(")`},
			[]string{"transform.ads.51007.filter", `bad pattern "("`, "(1:20)"}},
		// A dropped ODS column is not visible to ADS.
		{[]string{`prov: prov`}, []string{`prov: attributes`},
			[]string{"transform.ads.51007.columns.prov", "unknown name attributes"}},
		// A column used before it is derived.
		{[]string{`attrs: url_decode(attributes)`}, []string{`attrs: url_decode(wt_av)`},
			[]string{"transform.dwd.events.derive.attrs", "unknown name wt_av"}},
		{[]string{`  ip_db: /nonexistent/ip.xdb`}, []string{``},
			[]string{"transform.dwd.events.derive.prov", "ip_prov needs an ip2region database"}},
		{[]string{`        ts: bigint`, `partition: prov`}, []string{`        ts: int128`, `partition: nope`},
			[]string{`transform.ods.events.columns.ts: type "int128"`, `transform.ads.51007.partition: "nope"`}},
		{[]string{`drop: [attributes]`}, []string{`drop: [attribute]`},
			[]string{`transform.dwd.events.drop[0]: "attribute" is not a column`}},
	}
	for _, c := range cases {
		y := transformBase
		for i := range c.from {
			if !strings.Contains(y, c.from[i]) {
				t.Fatalf("fixture lacks %q", c.from[i])
			}
			y = strings.Replace(y, c.from[i], c.to[i], 1)
		}
		_, err := Parse([]byte(y))
		if err == nil {
			t.Errorf("%v: no error", c.to)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error lacks %q:\n%v", c.to, w, err)
			}
		}
	}
}
