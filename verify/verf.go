// Package verify writes the .verf check file of a file set and checks
// delivered sets against it, locally and on the exchange platform.
package verify

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Entry is one line of a .verf: one data file.
type Entry struct {
	Name   string
	Bytes  int64
	Lines  int64
	Period string
	Ctime  string // YYYYMMDDHHMMSS
	MD5    string
	SHA256 string
	Seq    int
}

// VerfSep separates .verf columns.
const VerfSep = "|"

// FormatVerf renders entries with the configured columns, one line each.
func FormatVerf(cols []string, es []Entry) ([]byte, error) {
	var b bytes.Buffer
	for _, e := range es {
		for k, c := range cols {
			if k > 0 {
				b.WriteString(VerfSep)
			}
			switch c {
			case "name":
				b.WriteString(e.Name)
			case "bytes":
				b.WriteString(strconv.FormatInt(e.Bytes, 10))
			case "lines":
				b.WriteString(strconv.FormatInt(e.Lines, 10))
			case "period":
				b.WriteString(e.Period)
			case "ctime":
				b.WriteString(e.Ctime)
			case "md5":
				b.WriteString(e.MD5)
			case "sha256":
				b.WriteString(e.SHA256)
			case "seq":
				b.WriteString(strconv.Itoa(e.Seq))
			default:
				return nil, fmt.Errorf("unknown .verf column %q", c)
			}
		}
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// ParseVerf reads a .verf written with cols. Errors name the line.
func ParseVerf(cols []string, data []byte) ([]Entry, error) {
	var out []Entry
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			continue
		}
		vals := strings.Split(line, VerfSep)
		if len(vals) != len(cols) {
			return nil, fmt.Errorf("line %d: %d columns, want %d (%s)", n, len(vals), len(cols), strings.Join(cols, VerfSep))
		}
		var e Entry
		for k, c := range cols {
			v := vals[k]
			var err error
			switch c {
			case "name":
				e.Name = v
			case "bytes":
				e.Bytes, err = strconv.ParseInt(v, 10, 64)
			case "lines":
				e.Lines, err = strconv.ParseInt(v, 10, 64)
			case "period":
				e.Period = v
			case "ctime":
				e.Ctime = v
			case "md5":
				e.MD5 = v
			case "sha256":
				e.SHA256 = v
			case "seq":
				e.Seq, err = strconv.Atoi(v)
			default:
				return nil, fmt.Errorf("unknown .verf column %q", c)
			}
			if err != nil {
				return nil, fmt.Errorf("line %d: column %s: %q is not a number", n, c, v)
			}
		}
		out = append(out, e)
	}
	return out, sc.Err()
}
