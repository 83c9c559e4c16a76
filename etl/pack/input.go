package pack

// Where a period's input came from (pull.InputOf) is part of its
// manifest.json, beside the fields of manifest.Manifest:
//
//	"input": "pulled" | "source" | "mixed",
//	"pulled_partitions": ["ads/dt=20241212/hour=00", ...]
//
// A day assembled from hour chunks merges the chunks' inputs. Readers of
// manifest.json that do not know these keys ignore them.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/transfer/pull"
)

// manifestFile is manifest.json as pack writes it: the manifest and
// where its input came from.
type manifestFile struct {
	*manifest.Manifest
	pull.InputOf
}

// writeManifest stores m and input as dir/manifest.json, atomically (as
// manifest.Write does).
func writeManifest(dir string, m *manifest.Manifest, input pull.InputOf) error {
	return writeJSON(filepath.Join(dir, workdir.ManifestFile), manifestFile{m, input})
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return manifest.WriteFileAtomic(path, append(data, '\n'), 0o644)
}

// readInputOf reads where the input of the period folder dir came from,
// from its manifest.json (else its partial.json). A folder packed before
// inputs were recorded was read from the source.
func readInputOf(dir string) (pull.InputOf, error) {
	var in pull.InputOf
	data, err := os.ReadFile(filepath.Join(dir, workdir.ManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		data, err = os.ReadFile(filepath.Join(dir, workdir.PartialFile))
	}
	if err != nil {
		return in, err
	}
	if err := json.Unmarshal(data, &in); err != nil {
		return in, fmt.Errorf("%s: %w", dir, err)
	}
	if in.Input == "" {
		in.Input = pull.InputSource
	}
	return in, nil
}
