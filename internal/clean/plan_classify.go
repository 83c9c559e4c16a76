package clean

import (
	"strings"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/naming"
)

// classify tells whether a workdir-relative path (split on "/") is a file
// chama made and may delete, and how it goes. sib holds the regular files
// of its folder.
func classify(c *config.Config, parts []string, sib map[string]node) (kind, bool) {
	switch parts[0] {
	case workdir.StageDir:
		return kindFile, stageFile(parts)
	case workdir.ChunksDir:
		// hourly_pack packs each hour with the ordinary pack into a
		// workdir of its own, <workdir>/chunks: the same out/ layout.
		if len(parts) < 2 || parts[1] != workdir.OutDir {
			return 0, false
		}
		return outFile(c, parts[1:], true)
	case workdir.OutDir:
		return outFile(c, parts, false)
	case workdir.RawDir:
		return rawFile(c, parts, sib)
	}
	return 0, false
}

// outFile: out/<iface>/<name> beside the period folders, or
// out/<iface>/<period>/.../<name> inside one.
func outFile(c *config.Config, parts []string, chunk bool) (kind, bool) {
	if len(parts) < 3 {
		return 0, false
	}
	ifc, ok := c.Interfaces[parts[1]]
	if !ok {
		return 0, false
	}
	name := parts[len(parts)-1]
	if len(parts) == 3 {
		// A failed pack's reject list, kept beside the period folder,
		// and the period's locks.
		if p, ok := workdir.RejectsOf(name); ok && isPeriod(p) {
			return kindFile, true
		}
		if _, ok := lockedPeriod(name); ok {
			return kindLock, true
		}
		return 0, false
	}
	if !periodFolder(parts[2], true) {
		return 0, false
	}
	if chunk {
		return kindFile, workdir.IsChunkFile(name) || name == workdir.ManifestFile || name == workdir.RejectsFile || workdir.IsTemp(name)
	}
	return kindFile, ifc.Template().Match(name) || ifc.VerfTemplate().Match(name) ||
		name == workdir.ManifestFile || name == workdir.RejectsFile || name == workdir.PartialFile ||
		isDelivery(name) || workdir.IsTemp(name) ||
		(strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".part") && len(name) > len("..part"))
}

// rawFile: raw/<iface>/<day>/[<partition path>/]<name>, and the same
// under raw/ods.<table>/ for a configured ODS table (pulled for the from:
// transform interfaces that read it).
func rawFile(c *config.Config, parts []string, sib map[string]node) (kind, bool) {
	if len(parts) < 4 {
		return 0, false
	}
	src, ok := rawSource(c, parts[1])
	if !ok || !periodFolder(parts[2], false) {
		return 0, false
	}
	name := parts[len(parts)-1]
	switch {
	case len(parts) == 4 && pullLock(name):
		return kindLock, true
	case name == workdir.PullRecordFile, strings.HasPrefix(name, workdir.TempPrefix), workdir.IsStaging(name):
		return kindFile, true
	case isRecord(name):
		return kindRecord, true
	case len(parts) >= 5 && isMarker(c, src, name):
		return kindMarker, true
	}
	// A staged input: pull keeps its record beside it.
	if _, ok := sib[workdir.StagedRecord(name)]; ok {
		return kindStaged, true
	}
	return 0, false
}

// pullLock: pull's locks in a staged day folder.
func pullLock(name string) bool { return workdir.IsPullLock(name) }

// isRecord: pull's record beside a staged input.
func isRecord(name string) bool { _, ok := workdir.StagedOf(name); return ok }

// isDelivery: push's delivery record of a target.
func isDelivery(name string) bool { _, ok := workdir.DeliveryTarget(name); return ok }

// lockedPeriod reads the period of a period lock: .<period>.lock (pack,
// assembly, push's records) or .<period>.push.lock (push).
func lockedPeriod(name string) (string, bool) {
	p, ok := workdir.LockedPeriod(name)
	return p, ok && isPeriod(p)
}

// rawSource is the configured source whose partitions pull stages in the
// raw/ folder name: an interface's source, or an ODS table's for
// ods.<table>. ok is false for a folder chama does not stage in.
func rawSource(c *config.Config, name string) (string, bool) {
	if ifc, ok := c.Interfaces[name]; ok && ifc != nil {
		return ifc.Source, true
	}
	if t, ok := workdir.RawTableOf(name); ok && c.Transform != nil {
		if o := c.Transform.ODS[t]; o != nil {
			return o.Source, true
		}
	}
	return "", false
}

// markerNames are the completeness markers pull may have written for the
// partitions of a source: its own and its fallback's.
func markerNames(c *config.Config, src string) []string {
	var out []string
	add := func(name string) {
		s := c.Sources[name]
		if s == nil || s.Marker == "" || strings.ContainsAny(s.Marker, `/\`) {
			return
		}
		for _, m := range out {
			if m == s.Marker {
				return
			}
		}
		out = append(out, s.Marker)
	}
	if src == "" {
		return nil
	}
	add(src)
	if s := c.Sources[src]; s != nil && s.Fallback != "" {
		add(s.Fallback)
	}
	return out
}

func isMarker(c *config.Config, src, name string) bool {
	for _, m := range markerNames(c, src) {
		if m == name {
			return true
		}
	}
	return false
}

func isPeriod(s string) bool {
	_, err := naming.ParsePeriod(s)
	return err == nil
}

// periodFolder accepts a period, and with temps also pack's
// .<period>.tmp-* and .<period>.old-* work folders.
func periodFolder(s string, temps bool) bool {
	if isPeriod(s) {
		return true
	}
	if !temps || !strings.HasPrefix(s, ".") {
		return false
	}
	p, ok := workdir.PeriodTempOf(s)
	return ok && isPeriod(p)
}

// stageFile: stage/<layer>/<period>.summary.json|.rejects.txt, and
// stage/<layer>/<name>/<period>[.partial]/[<part>/]part-NNNNN.parquet.
func stageFile(parts []string) bool {
	if len(parts) < 3 || (parts[1] != "dwd" && parts[1] != "ads") {
		return false
	}
	if len(parts) == 3 {
		if p, ok := workdir.SummaryOf(parts[2]); ok {
			return isPeriod(p)
		}
		if p, ok := workdir.RejectsOf(parts[2]); ok {
			return isPeriod(p)
		}
		return strings.HasPrefix(parts[2], workdir.TempPrefix)
	}
	if len(parts) < 5 || len(parts) > 6 {
		return false
	}
	if !isPeriod(workdir.StagedPeriodOf(parts[3])) {
		return false
	}
	return workdir.IsParquetPart(parts[len(parts)-1])
}
