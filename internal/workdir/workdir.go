// Package workdir is the one map of chama's working folder. Every path
// and every reserved file name under the workdir is built here, and clean
// recognises chama's files with the same functions, so renaming a file in
// one stage cannot silently break retention in another.
//
//	<workdir>/
//	  raw/<iface>/<period>/...          pull: staged inputs, .<name>.chama records,
//	                                    .chama-pull.json, .chama-pull-*.lock
//	  raw/ods.<table>/<period>/...      pull: the same, for the ODS table a
//	                                    from: transform interface reads
//	  stage/<layer>/<name>/<period>/    transform: part-NNNNN.parquet
//	  stage/<layer>/<period>.summary.json, <period>.rejects.txt
//	  stage/.spool/                     transform: Parquet spill files
//	  out/<iface>/<period>/             pack: data files, .verf, manifest.json,
//	                                    rejects.txt; push: delivery-<target>.json,
//	                                    partial.json
//	  out/<iface>/.<period>.lock        the period lock (pack, assembly, push records)
//	  out/<iface>/.<period>.push.lock   held by one push for its whole run
//	  out/<iface>/<period>.rejects.txt  the reject list of a failed pack
//	  chunks/out/<iface>/<hour>/        hourly_pack's hour chunks (a nested workdir)
//	  ledger.db                         the run ledger (SQLite)
package workdir

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// Top-level folders.
const (
	OutDir    = "out"
	RawDir    = "raw"
	StageDir  = "stage"
	ChunksDir = "chunks"
	SpoolDir  = ".spool" // under stage/
)

// Reserved file names and affixes.
const (
	// ManifestFile lists a published period's sets and files.
	ManifestFile = "manifest.json"
	// RejectsFile is a period's list of rejected lines.
	RejectsFile = "rejects.txt"
	// PartialFile marks a period packed from an incomplete input.
	PartialFile = "partial.json"
	// LedgerFile is the SQLite run ledger at the workdir's top.
	LedgerFile = "ledger.db"
	// PullRecordFile is pull's record of a staged period.
	PullRecordFile = ".chama-pull.json"
	// TempPrefix starts every temporary file chama writes before a rename.
	TempPrefix = ".chama-tmp-"
	// ChunkTempPrefix starts a data file pack is still writing.
	ChunkTempPrefix = ".chunk-"

	deliveryPrefix = "delivery-"
	deliverySuffix = ".json"
	summarySuffix  = ".summary.json"
	rejectsSuffix  = ".rejects.txt"
	partialSuffix  = ".partial"
	lockSuffix     = ".lock"
	pushLockSuffix = ".push.lock"
	stagedSuffix   = ".chama"
	stagingSuffix  = ".chama-part"
	pullLockPrefix = ".chama-pull-"
)

// Layout is a workdir. The zero value is not useful: use New.
type Layout struct{ Root string }

// New is the layout of the workdir at root.
func New(root string) Layout { return Layout{Root: root} }

// Out is the published folder of an interface's period:
// <workdir>/out/<iface>/<period>.
func (l Layout) Out(iface, period string) string {
	return filepath.Join(l.Root, OutDir, iface, period)
}

// OutIface holds an interface's period folders and their locks.
func (l Layout) OutIface(iface string) string {
	return filepath.Join(l.Root, OutDir, iface)
}

// Chunks is the nested workdir hourly_pack packs hour chunks into; its
// Out(iface, hour) is a chunk's folder.
func (l Layout) Chunks() Layout { return Layout{Root: filepath.Join(l.Root, ChunksDir)} }

// Raw is where pull stages an interface's period: the folder of the
// period's day, <workdir>/raw/<iface>/<YYYYMMDD> (an hour is staged in
// its day's folder).
func (l Layout) Raw(iface, period string) string {
	if len(period) > 8 {
		period = period[:8]
	}
	return filepath.Join(l.Root, RawDir, iface, period)
}

// rawTablePrefix starts the raw/ folder of an ODS table (raw/ods.<table>):
// interface names are letters and digits only, so it never meets one.
const rawTablePrefix = "ods."

// RawTableName is the name of the raw/ folder pull stages an ODS table
// in (for the from: transform interfaces that read it): ods.<table>. Use
// it where Raw takes an interface: Raw(RawTableName(table), period).
func RawTableName(table string) string { return rawTablePrefix + table }

// RawTableOf reads the ODS table of a raw/ folder's name.
func RawTableOf(name string) (string, bool) {
	t, ok := strings.CutPrefix(name, rawTablePrefix)
	return t, ok && ValidTableName(t)
}

var tableName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// ValidTableName reports an ODS table name that can name a raw/ folder:
// letters, digits, '_', '-' and '.', not starting with '.' (so it never
// reaches outside raw/ods.<table>).
func ValidTableName(t string) bool { return tableName.MatchString(t) }

// Stage is the Parquet root of a transform layer (dwd or ads).
func (l Layout) Stage(layer string) string { return filepath.Join(l.Root, StageDir, layer) }

// SummaryName is the name of a transform run's summary in its layer's
// folder: <period>.summary.json.
func SummaryName(period string) string { return period + summarySuffix }

// StageRejects is a transform run's list of rejected rows.
func (l Layout) StageRejects(layer, period string) string {
	return filepath.Join(l.Stage(layer), period+rejectsSuffix)
}

// StagePartial is the folder a staged table is written in before it
// replaces <period>: <period>.partial.
func StagePartial(period string) string { return period + partialSuffix }

// Spool holds transform's spill files.
func (l Layout) Spool() string { return filepath.Join(l.Root, StageDir, SpoolDir) }

// Ledger is the run ledger's file.
func (l Layout) Ledger() string { return filepath.Join(l.Root, LedgerFile) }

// PeriodLock is the lock of the period folder dir (out/<iface>/<period>):
// <parent>/.<period>.lock, taken by pack, day assembly and push's record
// writes.
func PeriodLock(dir string) string {
	return filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+lockSuffix)
}

// PushLock is the lock one push holds on the period folder dir for its
// whole run: <parent>/.<period>.push.lock.
func PushLock(dir string) string {
	return filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+pushLockSuffix)
}

// LockedPeriod reads the period of a period or push lock's file name.
func LockedPeriod(name string) (string, bool) {
	if !strings.HasPrefix(name, ".") {
		return "", false
	}
	for _, suf := range []string{pushLockSuffix, lockSuffix} {
		if p, ok := strings.CutSuffix(name[1:], suf); ok {
			return p, true
		}
	}
	return "", false
}

// FailedRejects is where a failed pack keeps its reject list, beside the
// period folder dir: <parent>/<period>.rejects.txt.
func FailedRejects(dir string) string { return dir + "." + RejectsFile }

// RejectsOf reads the period of a <period>.rejects.txt name (a failed
// pack's list beside its period folder, a transform run's in its layer).
func RejectsOf(name string) (string, bool) { return strings.CutSuffix(name, rejectsSuffix) }

// SummaryOf reads the period of a transform summary's name.
func SummaryOf(name string) (string, bool) { return strings.CutSuffix(name, summarySuffix) }

// DeliveryFile is push's delivery record for target in a period folder.
func DeliveryFile(target string) string { return deliveryPrefix + target + deliverySuffix }

// DeliveryTarget reads the target of a delivery record's file name.
func DeliveryTarget(name string) (string, bool) {
	t, ok := strings.CutPrefix(name, deliveryPrefix)
	if !ok {
		return "", false
	}
	t, ok = strings.CutSuffix(t, deliverySuffix)
	return t, ok && t != ""
}

// StagedRecord is the record pull keeps beside a staged input file:
// .<name>.chama.
func StagedRecord(name string) string { return "." + name + stagedSuffix }

// StagedOf reads the input a staged record belongs to.
func StagedOf(record string) (string, bool) {
	if !strings.HasPrefix(record, ".") || len(record) <= len("."+stagedSuffix) {
		return "", false
	}
	return strings.CutSuffix(record[1:], stagedSuffix)
}

// Staging is the name a pulled file is copied under before its rename:
// .<name>.chama-part.
func Staging(name string) string { return "." + name + stagingSuffix }

// IsStaging reports a pull copy in progress.
func IsStaging(name string) bool {
	return strings.HasPrefix(name, ".") && strings.HasSuffix(name, stagingSuffix) && len(name) > len("."+stagingSuffix)
}

// PullRecordLock serialises writers of a staged period's pull record.
const PullRecordLock = PullRecordFile + lockSuffix

// PullPartitionLock is the lock one pull holds on a partition path (such
// as dt=20241212/hour=07) of a staged period.
func PullPartitionLock(partition string) string {
	return pullLockPrefix + strings.NewReplacer("/", "_", "=", "-").Replace(partition) + lockSuffix
}

// IsPullLock reports one of pull's locks in a staged period folder.
func IsPullLock(name string) bool {
	return name == PullRecordLock || (strings.HasPrefix(name, pullLockPrefix) && strings.HasSuffix(name, lockSuffix))
}

// IsTemp reports a temporary file chama writes before a rename
// (.chama-tmp-*, pack's .chunk-*).
func IsTemp(name string) bool {
	return strings.HasPrefix(name, TempPrefix) || strings.HasPrefix(name, ChunkTempPrefix)
}

// ChunkTemp is the name of the data file number seq while pack writes it.
func ChunkTemp(seq string) string { return ChunkTempPrefix + seq }

// A period folder is built in a temporary sibling and swapped in by
// rename; the folder it replaces is moved aside first. Their names:
// .<period>.tmp-* and .<period>.old-*.
const (
	periodBuilding = ".tmp-"
	periodAside    = ".old-"
)

// PeriodBuildPattern is the os.MkdirTemp pattern of a period folder being
// built.
func PeriodBuildPattern(period string) string { return "." + period + periodBuilding }

// PeriodAsidePattern is the os.MkdirTemp pattern of a published period
// folder moved aside while its replacement is renamed in.
func PeriodAsidePattern(period string) string { return "." + period + periodAside }

// IsPeriodTemp reports a build or aside folder of period.
func IsPeriodTemp(name, period string) bool {
	return strings.HasPrefix(name, PeriodBuildPattern(period)) || strings.HasPrefix(name, PeriodAsidePattern(period))
}

// PeriodTempOf reads the period of a build or aside folder's name.
func PeriodTempOf(name string) (string, bool) {
	if !strings.HasPrefix(name, ".") {
		return "", false
	}
	for _, mark := range []string{periodBuilding, periodAside} {
		if i := strings.Index(name, mark); i > 1 {
			return name[1:i], true
		}
	}
	return "", false
}

// The names of an hour chunk's files, as naming templates: pack writes
// chunks under these neutral names and day assembly links them into the
// day's folder under the interface's own.
const (
	ChunkFileTemplate = "chunk_{hour}_{seq:06}.dat.gz"
	ChunkVerfTemplate = "chunk_{hour}.verf"
)

var chunkName = regexp.MustCompile(`^chunk_[0-9]{2}(_[0-9]{6}\.dat\.gz|\.verf)$`)

// IsChunkFile reports an hour chunk's data file or .verf.
func IsChunkFile(name string) bool { return chunkName.MatchString(name) }

// ParquetPart is the name of staged Parquet file number seq.
func ParquetPart(seq int) string { return fmt.Sprintf("part-%05d.parquet", seq) }

var parquetPart = regexp.MustCompile(`^part-[0-9]{5}\.parquet$`)

// IsParquetPart reports a staged Parquet file's name.
func IsParquetPart(name string) bool { return parquetPart.MatchString(name) }

// StagedPeriodOf reads the period of a staged table's folder: <period>
// or <period>.partial.
func StagedPeriodOf(name string) string { return strings.TrimSuffix(name, partialSuffix) }
