package hdfstest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
)

// pb builds one protobuf message field by field. Field numbers are those
// of the public Hadoop .proto files; the field comments in namenode.go and
// datanode.go name the message each number belongs to.
type pb []byte

func (m pb) uint(num protowire.Number, v uint64) pb {
	m = protowire.AppendTag(m, num, protowire.VarintType)
	return protowire.AppendVarint(m, v)
}

func (m pb) boolean(num protowire.Number, v bool) pb {
	return m.uint(num, protowire.EncodeBool(v))
}

func (m pb) bytes(num protowire.Number, v []byte) pb {
	m = protowire.AppendTag(m, num, protowire.BytesType)
	return protowire.AppendBytes(m, v)
}

func (m pb) str(num protowire.Number, v string) pb { return m.bytes(num, []byte(v)) }

func (m pb) msg(num protowire.Number, v pb) pb { return m.bytes(num, v) }

func (m pb) fixed64(num protowire.Number, v uint64) pb {
	m = protowire.AppendTag(m, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(m, v)
}

func (m pb) fixed32(num protowire.Number, v uint32) pb {
	m = protowire.AppendTag(m, num, protowire.Fixed32Type)
	return protowire.AppendFixed32(m, v)
}

// field is one decoded field: a varint/fixed value or a length-delimited
// payload.
type field struct {
	num protowire.Number
	v   uint64
	b   []byte
}

// decode splits a message into its fields (only the wire types Hadoop's
// messages use).
func decode(b []byte) ([]field, error) {
	var out []field
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		f := field{num: num}
		switch typ {
		case protowire.VarintType:
			f.v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed64Type:
			f.v, n = protowire.ConsumeFixed64(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			f.v = uint64(v)
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(b)
		default:
			return nil, fmt.Errorf("unsupported wire type %d for field %d", typ, num)
		}
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		out = append(out, f)
	}
	return out, nil
}

// get returns the last occurrence of a field (proto2 semantics).
func get(fs []field, num protowire.Number) (field, bool) {
	var f field
	ok := false
	for _, x := range fs {
		if x.num == num {
			f, ok = x, true
		}
	}
	return f, ok
}

// delimited appends a varint length and the message.
func delimited(dst []byte, m []byte) []byte {
	dst = protowire.AppendVarint(dst, uint64(len(m)))
	return append(dst, m...)
}

// splitDelimited reads consecutive varint-length-prefixed messages.
func splitDelimited(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		m, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return nil, errors.New("bad length-prefixed message")
		}
		out = append(out, m)
		b = b[n:]
	}
	return out, nil
}

// readDelimited reads one varint-length-prefixed message from a stream.
func readDelimited(r io.ByteReader, full io.Reader, max int) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > uint64(max) {
		return nil, fmt.Errorf("message of %d bytes is over the %d limit", n, max)
	}
	buf := make([]byte, n)
	_, err = io.ReadFull(full, buf)
	return buf, err
}
