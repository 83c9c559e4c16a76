package clean

import (
	"path"
	"sort"
	"strings"
	"time"

	"github.com/chama-data/chama/internal/workdir"
)

// plan picks the files that go, in the order they go: markers first,
// then each area in turn by path, a record right after its input. Locks
// are set aside for the end.
func (c *cleaner) plan() []*item {
	items, markersIn := c.collect()
	goes := whatGoes(items, markersIn, c.olderFunc(items))
	victims := c.pick(items, goes)
	sortVictims(victims)
	c.sortLocks()
	return victims
}

// collect classifies the regular files of every folder scanned, folders
// in path order, into chama's items. It sets the locks aside (c.locks),
// files the items under raw/ by day folder (c.days) and returns each
// folder's markers in markersIn.
func (c *cleaner) collect() (items []*item, markersIn map[string][]*item) {
	markersIn = map[string][]*item{} // folder -> its markers
	dirs := make([]string, 0, len(c.dirs))
	for d := range c.dirs {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, dir := range dirs {
		items = c.collectDir(dir, items, markersIn)
	}
	return items, markersIn
}

// collectDir appends chama's files of folder dir to items; see collect.
func (c *cleaner) collectDir(dir string, items []*item, markersIn map[string][]*item) []*item {
	parts := strings.Split(dir, "/")
	sib := map[string]node{}
	for _, n := range c.dirs[dir] {
		if n.isRegular() {
			sib[n.name] = n
		}
	}
	for _, n := range c.dirs[dir] {
		if !n.isRegular() {
			continue
		}
		k, ok := classify(c.o.Config, append(parts[:len(parts):len(parts)], n.name), sib)
		if !ok {
			continue
		}
		it := &item{node: n, dir: dir, rel: dir + "/" + n.name, kind: k, age: n.mtime, area: areaIndex(parts[0])}
		switch k {
		case kindStaged:
			if r := sib[workdir.StagedRecord(n.name)]; r.mtime.After(it.age) {
				it.age = r.mtime
			}
			it.markers = c.markers(parts[1])
		case kindRecord:
			data, _ := workdir.StagedOf(n.name)
			if _, ok := sib[data]; ok {
				it.with = dir + "/" + data
			}
		case kindMarker:
			markersIn[dir] = append(markersIn[dir], it)
		case kindLock:
			c.locks = append(c.locks, it)
			continue
		}
		items = append(items, it)
		if parts[0] == workdir.RawDir {
			day := strings.Join(parts[:3], "/")
			c.days[day] = append(c.days[day], it)
		}
	}
	return items
}

// olderFunc returns the test of an item's age against the cutoff.
//
// A published period folder (out/<iface>/<period>/..., and the same
// under chunks/) ages as one: by its newest chama file. Files aged one
// by one would let a clean at the boundary take some files of a set
// (an assembled hourly day's files are hard links made across 24
// hours) and leave its .verf promising them.
func (c *cleaner) olderFunc(items []*item) func(*item) bool {
	newest := map[string]time.Time{}
	for _, it := range items {
		if u := periodUnit(it); u != "" && it.kind == kindFile && it.age.After(newest[u]) {
			newest[u] = it.age
		}
	}
	return func(it *item) bool {
		if u := periodUnit(it); u != "" && it.kind == kindFile {
			return newest[u].Before(c.cutoff)
		}
		return it.age.Before(c.cutoff)
	}
}

// periodUnit is the published period folder it is in, "" when none.
func periodUnit(it *item) string {
	parts := strings.Split(it.dir, "/")
	for i, p := range parts {
		if p == workdir.OutDir && len(parts) >= i+3 {
			return strings.Join(parts[:i+3], "/")
		}
	}
	return ""
}

// whatGoes marks, by rel, the items old enough to go, with the markers
// that vouch for an old staged input. A record whose input is still
// listed is settled later, with its input (see pick).
func whatGoes(items []*item, markersIn map[string][]*item, old func(*item) bool) map[string]bool {
	goes := map[string]bool{}
	for _, it := range items {
		switch it.kind {
		case kindFile, kindMarker:
			if old(it) {
				goes[it.rel] = true
			}
		case kindStaged:
			if old(it) {
				goes[it.rel] = true
				// The markers of its folder and the folders above it, up
				// to the day folder, vouch for it: they go too.
				for d := it.dir; strings.Count(d, "/") >= 3; d = path.Dir(d) {
					for _, m := range markersIn[d] {
						goes[m.rel] = true
					}
				}
			}
		case kindRecord:
			if it.with == "" {
				goes[it.rel] = old(it) // its input is gone already
			}
		}
	}
	return goes
}

// pick returns the items that go, a record with its input, and counts
// the others as kept.
func (c *cleaner) pick(items []*item, goes map[string]bool) []*item {
	var victims []*item
	for _, it := range items {
		if it.kind == kindRecord && it.with != "" {
			goes[it.rel] = goes[it.with]
		}
		if goes[it.rel] {
			victims = append(victims, it)
		} else {
			c.res.Kept++
		}
	}
	return victims
}

// sortVictims orders the victims as they go: markers first, so a clean
// stopped part-way never leaves one over partial data, then by area and
// path, a record right after its input.
func sortVictims(victims []*item) {
	sort.SliceStable(victims, func(i, j int) bool {
		a, b := victims[i], victims[j]
		if ma, mb := a.kind == kindMarker, b.kind == kindMarker; ma != mb {
			return ma
		}
		if a.area != b.area {
			return a.area < b.area
		}
		return a.orderKey() < b.orderKey()
	})
}

// sortLocks orders the locks set aside by area, then path.
func (c *cleaner) sortLocks() {
	sort.Slice(c.locks, func(i, j int) bool {
		if c.locks[i].area != c.locks[j].area {
			return c.locks[i].area < c.locks[j].area
		}
		return c.locks[i].rel < c.locks[j].rel
	})
}

// orderKey puts a record right after the input it goes with.
func (it *item) orderKey() string {
	if it.kind == kindRecord && it.with != "" {
		return it.with + "\x00"
	}
	return it.rel
}

func areaIndex(a string) int {
	for i, x := range areas {
		if x == a {
			return i
		}
	}
	return len(areas)
}
