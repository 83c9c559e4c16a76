package pack

// The reject list: the lines a run refuses, with their file, line number
// and reason, written to rejects.txt beside the delivered files (or kept
// beside the period folder when the run fails).

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/internal/workdir"
)

// The rejects list holds at most this many lines or bytes; past them
// rejects are still counted (and reported) but not copied, so a wrong
// delimiter cannot copy a day's input into the list. (Variables for tests.)
var (
	maxListedRejects int64 = 1_000_000
	maxListedBytes   int64 = 1 << 30
)

// reject records a bad line. The run goes on to the end of its input even
// past max_rejects, so that the operator learns the whole extent at once
// (every reject counted and listed); Pack fails afterwards (tooManyRejects).
func (p *packer) reject(path string, lineNo int64, reason string, line []byte, rows *manifest.Rows) error {
	rows.Rejected++
	p.rejected++
	if p.firstReject == "" {
		p.firstReject = fmt.Sprintf("%s line %d: %s", path, lineNo, reason)
	}
	if p.rejects == nil {
		// Raw input lines, personal data, never delivered: the owner only.
		f, err := os.OpenFile(filepath.Join(p.tmp, workdir.RejectsFile), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		p.rejects, p.rejectsW = f, bufio.NewWriterSize(f, 64<<10)
	}
	if p.listed >= maxListedRejects || p.listedBytes >= maxListedBytes {
		return nil // counted, not listed: a wrong delimiter would copy the whole input here
	}
	p.listed++
	p.listedBytes += int64(len(path) + len(reason) + len(line) + 24)
	w := p.rejectsW
	w.WriteString(path)
	w.WriteByte('\t')
	w.WriteString(strconv.FormatInt(lineNo, 10))
	w.WriteByte('\t')
	w.WriteString(reason)
	w.WriteByte('\t')
	if bytes.IndexByte(line, '\r') >= 0 { // one line per reject
		line = bytes.ReplaceAll(line, []byte{'\r'}, []byte(`\r`))
	}
	w.Write(line)
	w.WriteByte('\n')
	return nil
}

// tooManyRejects is the run's failure once every line was read, or nil.
func (p *packer) tooManyRejects() error {
	if p.rejected <= int64(p.iface.MaxRejects) {
		return nil
	}
	listed := "every one of them"
	if p.listed < p.rejected {
		listed = fmt.Sprintf("the first %d of them", p.listed)
	}
	return fmt.Errorf("%s: more than %d rejected lines (max_rejects %d): %d in all; first: %s; the rejected lines are listed in %s, %s (fix the input, or raise max_rejects if they may be dropped)",
		p.where, p.iface.MaxRejects, p.iface.MaxRejects, p.rejected, p.firstReject, p.keptRejects, listed)
}

func (p *packer) closeRejects() error {
	err := p.rejectsW.Flush()
	if serr := p.rejects.Sync(); err == nil {
		err = serr
	}
	if cerr := p.rejects.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		err = fmt.Errorf("%s: write %s: %w", p.where, workdir.RejectsFile, err)
	}
	return err
}

// keepRejects saves the reject list of a failed run beside the period
// folder, where an operator can read it.
func (p *packer) keepRejects(dst string) {
	if p.rejects == nil {
		return
	}
	os.Rename(filepath.Join(p.tmp, workdir.RejectsFile), dst)
}
