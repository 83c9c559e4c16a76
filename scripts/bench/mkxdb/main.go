// Command mkxdb writes a synthetic ip2region .xdb for the transform bench:
// every public /8 is split into /12 blocks spread over the 31 provinces, so
// lookups walk a realistic number of segments. Not real geography.
package main

import (
	"fmt"
	"os"

	"github.com/chama-data/chama/etl/funcs"
)

var provs = []string{"广东省|广州市", "江苏省|南京市", "山东省|济南市", "河南省|郑州市", "浙江省|杭州市",
	"四川省|成都市", "河北省|石家庄市", "湖北省|武汉市", "湖南省|长沙市", "安徽省|合肥市", "福建省|福州市",
	"北京|北京市", "上海|上海市", "广西|南宁市", "江西省|南昌市", "云南省|昆明市", "辽宁省|沈阳市",
	"陕西省|西安市", "重庆|重庆市", "山西省|太原市", "贵州省|贵阳市", "黑龙江省|哈尔滨市", "吉林省|长春市",
	"内蒙古|呼和浩特市", "新疆|乌鲁木齐市", "天津|天津市", "甘肃省|兰州市", "海南省|海口市", "宁夏|银川市",
	"青海省|西宁市", "西藏|拉萨市"}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: mkxdb OUT.xdb")
		os.Exit(2)
	}
	var rs []funcs.XDBRange
	k := 0
	for a := uint32(1); a < 224; a++ {
		if a == 10 || a == 127 {
			continue
		}
		for b := uint32(0); b < 256; b += 16 {
			start := a<<24 | b<<16
			rs = append(rs, funcs.XDBRange{Start: start, End: start + 16<<16 - 1, Region: "中国|0|" + provs[k%len(provs)] + "|移动"})
			k += 7
		}
	}
	b, err := funcs.BuildXDB(rs)
	if err == nil {
		err = os.WriteFile(os.Args[1], b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkxdb:", err)
		os.Exit(1)
	}
}
