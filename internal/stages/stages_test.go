package stages

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/pipeline"
	"github.com/chama-data/chama/naming"
)

// TestAllVerifiesLast: `chama run` verifies remotely (Verify sets Remote)
// because push runs before verify; this keeps that order.
func TestAllVerifiesLast(t *testing.T) {
	var names []string
	for _, s := range All() {
		names = append(names, s.Name)
	}
	if want := []string{"pack", "push", "verify"}; !slices.Equal(names, want) {
		t.Errorf("stages %v, want %v", names, want)
	}
}

// The pack stage of `chama run` names the interfaces that failed, so the
// later stages can still deliver the ones that packed.
func TestPackNamesFailedInterfaces(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "ods/a/dt=20241212"), 0o755)
	os.WriteFile(filepath.Join(dir, "ods/a/dt=20241212/part-0"), []byte("1\x01x\n"), 0o644)
	c, err := config.Parse([]byte(`workdir: ` + filepath.Join(dir, "work") + `
sources:
  ods: {type: file, root: ` + filepath.Join(dir, "ods") + `}
interfaces:
  A: {source: ods, path: "a/dt={date}"}
  B: {source: ods, path: "b/dt={date}"}
`))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	err = Pack(t.Context(), pipeline.Params{Config: c, Ifaces: []*config.Interface{c.Interfaces["A"], c.Interfaces["B"]}, Stdout: &out}, naming.MustPeriod("20241212"))
	var fi *pipeline.FailedIfaces
	if !errors.As(err, &fi) || strings.Join(fi.Names, ",") != "B" || exit.Code(err) != exit.NotReady {
		t.Fatalf("err %v (exit %d), want B named as failed and exit 4 (its partition is not there yet)\n%s", err, exit.Code(err), out.String())
	}
}
