package transform

import (
	"testing"

	"github.com/chama-data/chama/etl/funcs"
)

// benchXDB spreads the public /8s over a few provinces in /12 blocks.
func benchXDB(tb testing.TB) []byte {
	provs := []string{"广东省|广州市", "江苏省|南京市", "浙江省|杭州市", "北京|北京市", "四川省|成都市"}
	var rs []funcs.XDBRange
	k := 0
	for a := uint32(1); a < 224; a++ {
		for b := uint32(0); b < 256; b += 16 {
			start := a<<24 | b<<16
			rs = append(rs, funcs.XDBRange{Start: start, End: start + 16<<16 - 1, Region: "中国|0|" + provs[k%len(provs)] + "|移动"})
			k++
		}
	}
	db, err := funcs.BuildXDB(rs)
	if err != nil {
		tb.Fatal(err)
	}
	return db
}
