package transform

import (
	"reflect"
	"strings"
	"testing"
)

// The 51007 and 51006 entries of testdata/transform/spec.yaml written as
// Hive SELECT statements (docs/transform.md, "Writing a layer as a Hive
// SELECT"); 51010 spells out the columns the two shared through *cols.
const selectADS = `    "51007":
      select: |
        SELECT e.event_id, os, os_version, browser, prov, city, mobile,
               wt_av, page_id, channel_id, ts
          FROM events e
         WHERE e.data_source_id IN ('app01', 'app02')
    "51006":
      select: |
        SELECT event_id, os, os_version, browser, prov, city, mobile,
               wt_av, page_id, channel_id, ts
          FROM events
         WHERE data_source_id = 'partner9'
            OR (instr(mc_ev, '210315_QYCS') > 0 AND mc_ev NOT RLIKE '^210315_QYCS_\\d+$')
    "51010":
      from: events
      filter: data_source_id in ["h5prov"] || regexp_like(mc_ev, "^210315_QYCS_\\d+$")
      columns: {event_id: event_id, os: os, os_version: os_version, browser: browser, prov: prov, city: city, mobile: mobile, wt_av: wt_av, page_id: page_id, channel_id: channel_id, ts: ts}
`

// The dwd table of the spec as a SELECT over the ODS table: the ODS
// columns it lists are kept (attributes is not, as drop: [attributes]),
// the other entries are derived, each seeing the ones before it.
const selectDWD = `    events:
      select: |
        SELECT event_id, data_source_id, user_key, user_id, user_agent, ip, mc_ev, ts,
               url_decode(strip_chars(attributes, '\n\r\t|')) AS attrs,
               get_json_object(attrs, '$.WT_es') AS url,
               empty_null(substr(url_param(url, 'pageId'), 1, 19)) AS page_id,
               empty_null(substr(url_param(url, 'channelId'), 1, 12)) AS channel_id,
               ua_os(user_agent) AS os,
               ua_os_version(user_agent) AS os_version,
               ua_browser(user_agent) AS browser,
               ua_browser_version(user_agent) AS browser_version,
               ip_prov(ip) AS prov,
               ip_city(ip) AS city,
               decrypt_mobile(user_key, user_id) AS mobile,
               nvl(empty_null(get_json_object(attrs, '$.WT_av')),
                   concat('APP_', lower(os), '_', nvl(browser_version, ''))) AS wt_av
          FROM events
`

// replaceBlock replaces the lines of y from the one equal to start up to
// (not including) the one equal to end.
func replaceBlock(t *testing.T, y, start, end, with string) string {
	t.Helper()
	i := strings.Index(y, start+"\n")
	j := strings.Index(y, end+"\n")
	if i < 0 || j < i {
		t.Fatalf("spec.yaml: no block %q .. %q", start, end)
	}
	return y[:i] + with + y[j:]
}

// TestSelectSameAsYAML: the ADS entries (and the DWD table) written as
// SELECT give exactly the output lines and counts of the YAML spec, in
// both evaluators' input formats.
func TestSelectSameAsYAML(t *testing.T) {
	for _, format := range []string{"text", "parquet"} {
		for _, dwd := range []bool{false, true} {
			yamlFix := newFixture(t, format, nil)
			sqlFix := newFixture(t, format, func(y string) string {
				y = replaceBlock(t, y, `    "51007":`, `    CM001:`, selectADS)
				if dwd {
					y = replaceBlock(t, y, `    events:
      from: events
      drop: [attributes]`, `  ads:`, selectDWD)
				}
				return y
			})
			if a := sqlFix.cfg.Transform.ADS["51006"]; a.Select.Text == "" || !strings.Contains(a.Filter, "regexp_like") {
				t.Fatalf("51006 not written as a SELECT: %+v", a)
			}
			if dwd && sqlFix.cfg.Transform.DWD["events"].Select.Text == "" {
				t.Fatal("dwd events not written as a SELECT")
			}
			for _, f := range []*fixture{yamlFix, sqlFix} {
				if format == "text" {
					f.writeText(t, "07", sampleRows(t), 3, true)
				} else {
					f.writeParquet(t, "07", sampleRows(t), 3)
				}
			}
			for _, layer := range []string{LayerDWD, LayerADS} {
				want, wantSum, err := yamlFix.collect(t, layer, "2024121207")
				if err != nil {
					t.Fatal(err)
				}
				got, gotSum, err := sqlFix.collect(t, layer, "2024121207")
				if err != nil {
					t.Fatal(err)
				}
				if len(want) == 0 || layer == LayerADS && len(want["51006"]) == 0 {
					t.Fatalf("fixture: no %s rows", layer)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s dwd-select=%v layer %s:\n got %q\nwant %q", format, dwd, layer, got, want)
				}
				if !reflect.DeepEqual(gotSum.Rows, wantSum.Rows) {
					t.Errorf("%s dwd-select=%v layer %s rows:\n got %+v\nwant %+v", format, dwd, layer, gotSum.Rows, wantSum.Rows)
				}
			}
		}
	}
}
