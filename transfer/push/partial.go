package push

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/chama-data/chama/internal/delivery"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/internal/workdir"
)

// readPushSet loads what push delivers from a period folder: manifest.json,
// or with partial and no manifest.json yet, partial.json. A set without a
// .verf is allowed only in partial.json, so a partial set is exactly one
// whose Verf is empty.
func readPushSet(dir string, partial bool) (*manifest.Manifest, bool, error) {
	m, err := manifest.Read(dir)
	if err == nil {
		for _, s := range m.Sets {
			if s.Verf == "" {
				return nil, false, fmt.Errorf("%s: set %q has no .verf", filepath.Join(dir, workdir.ManifestFile), s.Part)
			}
		}
		return m, false, nil
	}
	if !partial || !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	p := filepath.Join(dir, workdir.PartialFile)
	data, perr := os.ReadFile(p)
	if errors.Is(perr, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("%s has neither %s nor %s: pack the period's first hours: %w", dir, workdir.ManifestFile, workdir.PartialFile, err)
	}
	if perr != nil {
		return nil, false, perr
	}
	var pm manifest.Manifest
	if err := json.Unmarshal(data, &pm); err != nil {
		return nil, false, fmt.Errorf("%s: %w", p, err)
	}
	if err := pm.Check(); err != nil {
		return nil, false, fmt.Errorf("%s: %w", p, err)
	}
	for i := range pm.Sets {
		pm.Sets[i].Verf = "" // never a .verf before the day is assembled
	}
	return &pm, true, nil
}

// refuseMixed stops a push that would mix two versions of a set on a
// target, before anything is sent, naming the differing files and the
// way out.
func refuseMixed(m *manifest.Manifest, prev *delivery.Record, force bool) error {
	if force {
		return nil
	}
	diff := delivery.SetChanges(m, prev)
	if len(diff) == 0 {
		return nil
	}
	n := len(diff)
	if n > 10 {
		diff = append(diff[:10], fmt.Sprintf("and %d more", n-10))
	}
	if len(m.Sets) > 0 && m.Sets[0].Verf == "" {
		// A day still packed hour by hour: a new re-send number needs the
		// assembled day; until then only --force can go on.
		msg := fmt.Sprintf("the day's known files changed since target %s received them (a re-packed hour renumbers the files after it): %d files differ: %s; refusing to push a mixed set. Way out: chama push --date %s --partial --force replaces the differing files (files the new set no longer has stay on the target)",
			prev.Target, n, strings.Join(diff, ", "), m.Period)
		if m.Resend < 99 {
			msg += fmt.Sprintf(", or wait for the assembled day and re-send it (chama pack --date %s --resend %02d && chama push --date %s --resend %02d)", m.Period, m.Resend+1, m.Period, m.Resend+1)
		}
		return errors.New(msg)
	}
	msg := fmt.Sprintf("the packed set changed since target %s received it (a re-packed hour renumbers the files after it): %d files differ: %s; refusing to push a mixed set. Way out: ", prev.Target, n, strings.Join(diff, ", "))
	if m.Resend < 99 { // 99 is the last re-send number two digits hold
		msg += fmt.Sprintf("pack the period with a new re-send number and push that (chama pack --date %s --resend %02d && chama push --date %s --resend %02d), or ", m.Period, m.Resend+1, m.Period, m.Resend+1)
	}
	msg += fmt.Sprintf("replace the differing files with chama push --date %s --force (files the new set no longer has stay on the target)", m.Period)
	return errors.New(msg)
}
