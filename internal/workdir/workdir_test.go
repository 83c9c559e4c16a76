package workdir

import (
	"path/filepath"
	"testing"
)

// Every name the builders make is recognised by the matching reader, so
// clean sees exactly what the stages write.
func TestNamesRoundTrip(t *testing.T) {
	l := New("/w")
	out := l.Out("51007", "20241212")
	if out != filepath.Join("/w", "out", "51007", "20241212") || l.Raw("51007", "2024121207") != filepath.Join("/w", "raw", "51007", "20241212") {
		t.Fatalf("out %s raw %s", out, l.Raw("51007", "2024121207"))
	}
	if c := l.Chunks().Out("51007", "2024121207"); c != filepath.Join("/w", "chunks", "out", "51007", "2024121207") {
		t.Errorf("chunk %s", c)
	}
	for _, lock := range []string{PeriodLock(out), PushLock(out)} {
		if filepath.Dir(lock) != l.OutIface("51007") {
			t.Errorf("lock %s not beside the period folder", lock)
		}
		if p, ok := LockedPeriod(filepath.Base(lock)); !ok || p != "20241212" {
			t.Errorf("LockedPeriod(%s) = %q %v", lock, p, ok)
		}
	}
	if p, ok := RejectsOf(filepath.Base(FailedRejects(out))); !ok || p != "20241212" {
		t.Errorf("failed rejects %s", FailedRejects(out))
	}
	if p, ok := RejectsOf(filepath.Base(l.StageRejects("ads", "2024121207"))); !ok || p != "2024121207" {
		t.Error("stage rejects")
	}
	if p, ok := SummaryOf(SummaryName("2024121207")); !ok || p != "2024121207" {
		t.Error("stage summary")
	}
	if tg, ok := DeliveryTarget(DeliveryFile("plat")); !ok || tg != "plat" {
		t.Error("delivery record")
	}
	if _, ok := DeliveryTarget("delivery-.json"); ok {
		t.Error("a delivery record names its target")
	}
	if n, ok := StagedOf(StagedRecord("000000_0")); !ok || n != "000000_0" {
		t.Error("staged record")
	}
	if !IsStaging(Staging("000000_0")) || IsStaging(".chama-part") {
		t.Error("staging copy")
	}
	if !IsPullLock(PullPartitionLock("dt=20241212/hour=07")) || !IsPullLock(PullRecordLock) {
		t.Error("pull locks")
	}
	if !IsTemp(TempPrefix+"x") || !IsTemp(ChunkTemp("3")) || IsTemp("a.dat.gz") {
		t.Error("temporaries")
	}
	for _, n := range []string{PeriodBuildPattern("20241212") + "123", PeriodAsidePattern("20241212") + "9"} {
		if !IsPeriodTemp(n, "20241212") {
			t.Errorf("IsPeriodTemp(%s)", n)
		}
		if p, ok := PeriodTempOf(n); !ok || p != "20241212" {
			t.Errorf("PeriodTempOf(%s) = %q", n, p)
		}
	}
	if !IsParquetPart(ParquetPart(7)) || StagedPeriodOf(StagePartial("2024121207")) != "2024121207" {
		t.Error("staged parquet")
	}
	if !IsChunkFile("chunk_07_000001.dat.gz") || !IsChunkFile("chunk_07.verf") {
		t.Error("chunk names")
	}
}

// An ODS table pulled for from: transform interfaces has its raw/ folder,
// ods.<table>, which no interface name (letters and digits) can be, and a
// table name that could lead out of it is refused.
func TestRawTable(t *testing.T) {
	l := New("/w")
	if got := l.Raw(RawTableName("events"), "2024121207"); got != filepath.Join("/w", "raw", "ods.events", "20241212") {
		t.Fatalf("raw table folder %s", got)
	}
	if tb, ok := RawTableOf(RawTableName("ods_events.v2")); !ok || tb != "ods_events.v2" {
		t.Fatalf("RawTableOf = %q %t", tb, ok)
	}
	for _, bad := range []string{"", ".", "..", "../x", "a/b", `a\b`, ".hidden"} {
		if _, ok := RawTableOf(RawTableName(bad)); ok || ValidTableName(bad) {
			t.Errorf("table name %q accepted", bad)
		}
	}
	if _, ok := RawTableOf("51007"); ok {
		t.Error("an interface's folder read as a table's")
	}
	if _, ok := RawTableOf("ods.../x"); ok {
		t.Error("ods.../x")
	}
}
