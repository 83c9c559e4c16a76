package transform

import (
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// AppendLine appends row `row` of rec to dst as one delimited line, without
// the newline; null cells are written as null (Hive writes \N, interface
// files usually ""). The pack stage turns ADS batches into interface lines
// with it; embedded-delimiter policy stays pack's business.
func AppendLine(dst []byte, rec arrow.RecordBatch, row int, delim byte, null string) []byte {
	for c := 0; c < int(rec.NumCols()); c++ {
		if c > 0 {
			dst = append(dst, delim)
		}
		dst = AppendValue(dst, rec.Column(c), row, null)
	}
	return dst
}

// AppendValue appends one cell as text (null as null). The pack stage
// uses it to apply its embedded-delimiter policy value by value.
func AppendValue(dst []byte, col arrow.Array, row int, null string) []byte {
	if col.IsNull(row) {
		return append(dst, null...)
	}
	switch a := col.(type) {
	case *array.String:
		dst = append(dst, a.Value(row)...)
	case *array.Int64:
		dst = strconv.AppendInt(dst, a.Value(row), 10)
	case *array.Float64:
		dst = strconv.AppendFloat(dst, a.Value(row), 'g', -1, 64)
	default:
		dst = append(dst, col.ValueStr(row)...)
	}
	return dst
}
