package funcs

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strings"
)

// The ip2region xdb (version 2) layout, read from the public format
// description; the official Go binding is not on our module proxy.
//
//	header        256 bytes: version u16, index policy u16, created u32,
//	              first segment u32, last segment u32 (all little endian)
//	vector index  256*256 cells of 8 bytes at offset 256: for the first two
//	              bytes of an IPv4 address, the first and last segment
//	              offsets that may hold it
//	regions       the region texts ("country|area|province|city|isp")
//	segments      14 bytes each: start ip u32, end ip u32, region length
//	              u16, region offset u32; sorted, not overlapping
const (
	xdbHeaderLen   = 256
	xdbVectorCols  = 256
	xdbVectorSize  = 8
	xdbSegmentSize = 14
	xdbVectorLen   = xdbVectorCols * xdbVectorCols * xdbVectorSize
)

// XDB is an ip2region database held in memory (the full file, ~11 MB for
// the public database), safe for concurrent reads.
type XDB struct {
	buf []byte
}

// OpenXDB reads an xdb file, checking that its layout is sane.
func OpenXDB(path string) (*XDB, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ip2region database: %w", err)
	}
	x, err := NewXDB(b)
	if err != nil {
		return nil, fmt.Errorf("ip2region database %s: %w", path, err)
	}
	return x, nil
}

// NewXDB wraps an xdb image.
func NewXDB(b []byte) (*XDB, error) {
	if len(b) < xdbHeaderLen+xdbVectorLen {
		return nil, fmt.Errorf("%d bytes is too short for an xdb file (header and vector index need %d)", len(b), xdbHeaderLen+xdbVectorLen)
	}
	first := binary.LittleEndian.Uint32(b[8:])
	last := binary.LittleEndian.Uint32(b[12:])
	if first > last || int(last)+xdbSegmentSize > len(b) || (last-first)%xdbSegmentSize != 0 {
		return nil, fmt.Errorf("bad segment index bounds %d..%d for a %d-byte file", first, last, len(b))
	}
	return &XDB{buf: b}, nil
}

// Search returns the region text of an IPv4 address in host order, and
// the region's offset (a cheap cache key); ok is false when no segment
// holds it or the file is inconsistent.
func (x *XDB) Search(ip uint32) (text string, off uint32, ok bool) {
	off, n, ok := x.find(ip)
	if !ok {
		return "", 0, false
	}
	return string(x.buf[off : int(off)+n]), off, true
}

// find locates the region of ip without copying its text.
func (x *XDB) find(ip uint32) (off uint32, n int, ok bool) {
	b := x.buf
	cell := xdbHeaderLen + (int(ip>>24)*xdbVectorCols+int(ip>>16&0xff))*xdbVectorSize
	lo := binary.LittleEndian.Uint32(b[cell:])
	hi := binary.LittleEndian.Uint32(b[cell+4:])
	if lo == 0 && hi == 0 {
		return 0, 0, false
	}
	if int(hi)+xdbSegmentSize > len(b) || hi < lo {
		return 0, 0, false
	}
	l, h := 0, int(hi-lo)/xdbSegmentSize
	for l <= h {
		m := (l + h) / 2
		p := int(lo) + m*xdbSegmentSize
		sip := binary.LittleEndian.Uint32(b[p:])
		eip := binary.LittleEndian.Uint32(b[p+4:])
		switch {
		case ip < sip:
			h = m - 1
		case ip > eip:
			l = m + 1
		default:
			n := int(binary.LittleEndian.Uint16(b[p+8:]))
			d := binary.LittleEndian.Uint32(b[p+10:])
			if int(d)+n > len(b) {
				return 0, 0, false
			}
			return d, n, true
		}
	}
	return 0, 0, false
}

// region returns the parsed region of ip, cached per worker by offset.
func (s *Set) region(ip uint32) *region {
	off, n, ok := s.sh.IP.find(ip)
	if !ok {
		return nil
	}
	r := s.ipMap[off]
	if r == nil {
		r = parseRegion(string(s.sh.IP.buf[off : int(off)+n]))
		s.ipMap[off] = r
	}
	return r
}

// region is a parsed region text; "0" fields are unknown.
type region struct{ fields [5]string }

func parseRegion(text string) *region {
	r := &region{}
	for i, f := range strings.SplitN(text, "|", 5) {
		if f != "0" {
			r.fields[i] = f
		}
	}
	return r
}

// ParseIPv4 reads a dotted IPv4 address (an IPv4-mapped IPv6 address too).
func ParseIPv4(s string) (uint32, bool) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return 0, false
	}
	a = a.Unmap()
	if !a.Is4() {
		return 0, false
	}
	v := a.As4()
	return binary.BigEndian.Uint32(v[:]), true
}

// ipField gives field k of the region of an address: 2 the province, 3
// the city. Unknown, IPv6 or unparsable addresses give null.
func (s *Set) ipField(k int) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if err := arity("ip_*", args, 1, 1); err != nil {
			return nil, err
		}
		v, ok := str(args[0])
		if !ok || s.sh.IP == nil {
			return nil, nil
		}
		ip, ok := ParseIPv4(v)
		if !ok {
			return nil, nil
		}
		r := s.region(ip)
		if r == nil || r.fields[k] == "" {
			return nil, nil
		}
		return r.fields[k], nil
	}
}

// XDBRange is one range for BuildXDB.
type XDBRange struct {
	Start, End uint32 // inclusive, host order
	Region     string // "country|area|province|city|isp"
}

// BuildXDB writes an xdb image from non-overlapping ranges, splitting each
// at /16 boundaries as the vector index needs. Tests use it to build tiny
// databases; chama never writes one in production.
func BuildXDB(ranges []XDBRange) ([]byte, error) {
	rs := append([]XDBRange(nil), ranges...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].Start < rs[j].Start })
	for i, r := range rs {
		if r.End < r.Start {
			return nil, fmt.Errorf("range %d: end before start", i)
		}
		if i > 0 && r.Start <= rs[i-1].End {
			return nil, fmt.Errorf("range %d overlaps the one before", i)
		}
	}
	buf := make([]byte, xdbHeaderLen+xdbVectorLen)
	binary.LittleEndian.PutUint16(buf[0:], 2) // version
	binary.LittleEndian.PutUint16(buf[2:], 1) // vector index policy
	// Regions, deduplicated.
	offs := map[string]uint32{}
	for _, r := range rs {
		if _, ok := offs[r.Region]; !ok {
			offs[r.Region] = uint32(len(buf))
			buf = append(buf, r.Region...)
		}
	}
	// Segments, split per /16.
	type seg struct {
		s, e uint32
		reg  string
	}
	var segs []seg
	for _, r := range rs {
		s := r.Start
		for {
			blockEnd := s | 0xffff
			if blockEnd >= r.End {
				segs = append(segs, seg{s, r.End, r.Region})
				break
			}
			segs = append(segs, seg{s, blockEnd, r.Region})
			s = blockEnd + 1
		}
	}
	first := uint32(len(buf))
	for _, sg := range segs {
		pos := uint32(len(buf))
		var e [xdbSegmentSize]byte
		binary.LittleEndian.PutUint32(e[0:], sg.s)
		binary.LittleEndian.PutUint32(e[4:], sg.e)
		binary.LittleEndian.PutUint16(e[8:], uint16(len(sg.reg)))
		binary.LittleEndian.PutUint32(e[10:], offs[sg.reg])
		buf = append(buf, e[:]...)
		cell := xdbHeaderLen + int(sg.s>>16)*xdbVectorSize
		if binary.LittleEndian.Uint32(buf[cell:]) == 0 {
			binary.LittleEndian.PutUint32(buf[cell:], pos)
		}
		binary.LittleEndian.PutUint32(buf[cell+4:], pos)
	}
	last := first
	if len(segs) > 0 {
		last = uint32(len(buf)) - xdbSegmentSize
	}
	binary.LittleEndian.PutUint32(buf[8:], first)
	binary.LittleEndian.PutUint32(buf[12:], last)
	return buf, nil
}
