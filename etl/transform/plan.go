// Package transform runs chama's ODS -> DWD -> ADS layer spec over Apache
// Arrow record batches: it reads Hive text (\x01, plain or gzip) or Parquet
// partitions, derives the DWD columns, routes each row to the interfaces
// whose filter it matches, and hands the output batches, in input order,
// to a sink (the pack stage, or Parquet files under <workdir>/stage).
// Every row is accounted for: read = routed + filtered + rejected.
package transform

import (
	"fmt"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/chama-data/chama/config"
)

// Layers.
const (
	LayerDWD = "dwd"
	LayerADS = "ads"
)

// stream is one ODS table and everything computed from it in one pass.
type stream struct {
	table  string
	ods    *config.ODSTable
	schema *arrow.Schema // the ODS columns, typed
	dwds   []*dwdPlan
}

type dwdPlan struct {
	name   string
	spec   *config.DWDTable
	emit   bool     // the DWD table itself is an output (layer dwd)
	cols   []string // output columns (config.Transform.DWDColumns)
	schema *arrow.Schema
	ads    []*adsPlan
}

type adsPlan struct {
	iface   string
	spec    *config.ADSSpec
	partIdx int // output column that partitions, -1: none
	schema  *arrow.Schema
}

func arrowType(t string) arrow.DataType {
	switch t {
	case "bigint":
		return arrow.PrimitiveTypes.Int64
	case "double":
		return arrow.PrimitiveTypes.Float64
	}
	return arrow.BinaryTypes.String
}

// buildPlan selects what a run computes: for layer ads the named
// interfaces (default every ADS entry), for layer dwd the named DWD tables
// (default all), grouped by the ODS table they read.
func buildPlan(t *config.Transform, layer string, names []string) ([]*stream, error) {
	if t == nil {
		return nil, fmt.Errorf("the config has no transform section")
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	streams := map[string]*stream{}
	dwds := map[string]*dwdPlan{}
	getDWD := func(name string) *dwdPlan {
		if d, ok := dwds[name]; ok {
			return d
		}
		spec := t.DWD[name]
		o := t.ODS[spec.From]
		st, ok := streams[spec.From]
		if !ok {
			var fs []arrow.Field
			for _, c := range o.Columns {
				fs = append(fs, arrow.Field{Name: c.Name, Type: arrowType(c.Expr), Nullable: true})
			}
			st = &stream{table: spec.From, ods: o, schema: arrow.NewSchema(fs, nil)}
			streams[spec.From] = st
		}
		d := &dwdPlan{name: name, spec: spec, cols: t.DWDColumns(name)}
		odsType := map[string]string{}
		for _, c := range o.Columns {
			odsType[c.Name] = c.Expr
		}
		derived := map[string]bool{}
		for _, x := range spec.Derive {
			derived[x.Name] = true
		}
		var fs []arrow.Field
		for _, c := range d.cols {
			typ := arrow.DataType(arrow.BinaryTypes.String)
			if !derived[c] {
				typ = arrowType(odsType[c])
			}
			fs = append(fs, arrow.Field{Name: c, Type: typ, Nullable: true})
		}
		d.schema = arrow.NewSchema(fs, nil)
		st.dwds = append(st.dwds, d)
		dwds[name] = d
		return d
	}
	switch layer {
	case LayerDWD:
		for n := range want {
			if _, ok := t.DWD[n]; !ok {
				return nil, fmt.Errorf("unknown dwd table %q", n)
			}
		}
		for _, n := range sortedKeys(t.DWD) {
			if len(want) == 0 || want[n] {
				getDWD(n).emit = true
			}
		}
	case LayerADS:
		for n := range want {
			if _, ok := t.ADS[n]; !ok {
				return nil, fmt.Errorf("interface %q has no transform.ads entry", n)
			}
		}
		for _, n := range sortedKeys(t.ADS) {
			if len(want) > 0 && !want[n] {
				continue
			}
			spec := t.ADS[n]
			d := getDWD(spec.From)
			a := &adsPlan{iface: n, spec: spec, partIdx: -1}
			var fs []arrow.Field
			for i, c := range spec.Columns {
				fs = append(fs, arrow.Field{Name: c.Name, Type: arrow.BinaryTypes.String, Nullable: true})
				if c.Name == spec.Partition {
					a.partIdx = i
				}
			}
			a.schema = arrow.NewSchema(fs, nil)
			d.ads = append(d.ads, a)
		}
	default:
		return nil, fmt.Errorf("layer %q is not dwd or ads", layer)
	}
	var out []*stream
	for _, n := range sortedKeys(streams) {
		out = append(out, streams[n])
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("nothing to compute for layer %s", layer)
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
