package config

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// yaml.v3 reports an unknown key as "line 12: field retry not found in
// type config.Target": a Go type, no key path. friendlyErrors rewrites
// such messages with the key's path in the file and the nearest known key.
var unknownField = regexp.MustCompile(`^line (\d+): field (.*) not found in type (\S+)$`)

func friendlyErrors(data []byte, msgs []string) []string {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil {
		return msgs
	}
	keys := knownKeys()
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		sm := unknownField.FindStringSubmatch(m)
		if sm == nil {
			out = append(out, m)
			continue
		}
		line, _ := strconv.Atoi(sm[1])
		name, typ := sm[2], sm[3]
		path := keyPath(&root, line, name)
		if path == "" {
			path = name
		}
		msg := fmt.Sprintf("line %d: %s: unknown key %q", line, path, name)
		if s := nearest(name, keys[typ]); s != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", s)
		} else if len(keys[typ]) > 0 {
			msg += fmt.Sprintf(" (known keys here: %s)", strings.Join(keys[typ], ", "))
		}
		out = append(out, msg)
	}
	return out
}

// keyPath finds the mapping key name on line and returns its dotted path.
func keyPath(n *yaml.Node, line int, name string) string {
	var walk func(n *yaml.Node, prefix []string) []string
	walk = func(n *yaml.Node, prefix []string) []string {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for i, c := range n.Content {
				p := prefix
				if n.Kind == yaml.SequenceNode {
					p = append(append([]string{}, prefix...), fmt.Sprintf("[%d]", i))
				}
				if r := walk(c, p); r != nil {
					return r
				}
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := append(append([]string{}, prefix...), k.Value)
				if k.Line == line && k.Value == name {
					return p
				}
				if r := walk(v, p); r != nil {
					return r
				}
			}
		}
		return nil
	}
	p := walk(n, nil)
	return strings.ReplaceAll(strings.Join(p, "."), ".[", "[")
}

// knownKeys maps each config struct's Go type name (as yaml.v3 prints
// it, "config.Target") to its YAML keys.
func knownKeys() map[string][]string {
	out := map[string][]string{}
	var visit func(t reflect.Type)
	visit = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t.PkgPath() == "" {
			return
		}
		name := t.String()
		if _, done := out[name]; done {
			return
		}
		out[name] = nil
		var ks []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			parts := strings.Split(f.Tag.Get("yaml"), ",")
			tag := parts[0]
			if tag == "-" || !f.IsExported() {
				continue
			}
			visit(f.Type)
			if slices.Contains(parts[1:], "inline") {
				// An inline struct's keys are this section's keys.
				ft := f.Type
				for ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				ks = append(ks, out[ft.String()]...)
				continue
			}
			if tag != "" {
				ks = append(ks, tag)
			}
		}
		sort.Strings(ks)
		out[name] = ks
	}
	visit(reflect.TypeOf(Config{}))
	return out
}

// nearest is the known key closest to name, when it is close enough to
// be a typo: at most two edits (a swap of neighbours is one), or the same
// first four letters (retry for retries).
func nearest(name string, known []string) string {
	best, bestD := "", 1<<30
	for _, k := range known {
		d := editDistance(name, k)
		if n := commonPrefix(name, k); n >= 4 || n == len(name) || n == len(k) {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = k, d
		}
	}
	if bestD <= 2 && bestD < len(name) {
		return best
	}
	return ""
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

func editDistance(a, b string) int {
	pp := make([]int, len(b)+1) // the row before prev
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], pp[j-2]+1) // a swap of neighbours
			}
		}
		pp, prev, cur = prev, cur, pp
	}
	return prev[len(b)]
}
