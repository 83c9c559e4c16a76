package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chama-data/chama/internal/workdir"
)

func TestRowsCheck(t *testing.T) {
	if err := (Rows{Read: 10, Written: 7, Filtered: 2, Rejected: 1}).Check(); err != nil {
		t.Errorf("balanced rows: %v", err)
	}
	err := (Rows{Read: 10, Written: 7, Filtered: 2}).Check()
	if err == nil || !strings.Contains(err.Error(), "read 10 != written 7 + filtered 2 + rejected 0") {
		t.Errorf("unbalanced rows: %v", err)
	}
}

// Write is atomic and leaves no temporary; Read gives back what was written.
func TestWriteReadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	m := &Manifest{Version: Version, Iface: "CM001", Period: "20241219", Resend: 1,
		Rows: Rows{Read: 3, Written: 3}, Sets: []Set{{Part: "250", Dir: "250", Verf: "v.verf",
			Files: []File{{Name: "a_0001.dat.gz", Seq: 1, Bytes: 42, Lines: 3, MD5: "00ff"}}}}}
	if err := Write(dir, m); err != nil {
		t.Fatal(err)
	}
	if err := Write(dir, m); err != nil { // replacing works too
		t.Fatal(err)
	}
	got, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Iface != "CM001" || got.Resend != 1 || got.Sets[0].Files[0].MD5 != "00ff" || got.Rows.Read != 3 {
		t.Errorf("read back %+v", got)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("folder holds %d entries, want only %s", len(ents), workdir.ManifestFile)
	}
	os.WriteFile(filepath.Join(dir, workdir.ManifestFile), []byte("{broken"), 0o644)
	if _, err := Read(dir); err == nil || !strings.Contains(err.Error(), workdir.ManifestFile) {
		t.Errorf("a broken manifest should name the file: %v", err)
	}
}

// A manifest naming a folder or file outside the period folder is
// refused by Read, so no stage (push, verify, clean) ever follows it.
func TestReadRefusesEscapingNames(t *testing.T) {
	for _, set := range []Set{
		{Dir: "../../../etc", Verf: "a.verf", Files: []File{{Name: "passwd"}}},
		{Dir: "/etc", Verf: "a.verf", Files: []File{{Name: "passwd"}}},
		{Verf: "../a.verf"},
		{Verf: "a.verf", Files: []File{{Name: "../../x"}}},
		{Verf: "a.verf", Files: []File{{Name: ".."}}},
		{Dir: `a\..\..`, Verf: "a.verf"},
	} {
		dir := t.TempDir()
		if err := Write(dir, &Manifest{Version: Version, Sets: []Set{set}}); err != nil {
			t.Fatal(err)
		}
		if _, err := Read(dir); err == nil || !strings.Contains(err.Error(), "refusing the manifest") {
			t.Errorf("set %+v: Read gave %v, want a refusal", set, err)
		}
	}
	dir := t.TempDir()
	ok := &Manifest{Version: Version, Sets: []Set{{Part: "250", Dir: "province=250", Verf: "a.verf", Files: []File{{Name: "a_0001.dat.gz"}}}}}
	if err := Write(dir, ok); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir); err != nil {
		t.Errorf("a partitioned set's folder is refused: %v", err)
	}
}
