package gen

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"strconv"
)

// rng draws from a PCG directly (no interface call per draw). n uses a
// multiply-shift, whose bias (< n/2^32) is irrelevant for synthetic data.
type rng struct{ p rand.PCG }

func (r *rng) u64() uint64 { return r.p.Uint64() }
func (r *rng) n(n int) int { return int((r.p.Uint64() >> 32 * uint64(n)) >> 32) }

// per reports true with probability p/1000.
func (r *rng) per(p int) bool { return r.n(1000) < p }

func (r *rng) pick(s []string) string { return s[r.n(len(s))] }

// picker draws an index with the given weights in O(1) from a 1024-slot
// table (weights are rounded to 1/1024, which is plenty here).
type picker [1024]uint8

func newPicker(weights []int) *picker {
	var p picker
	total := 0
	for _, w := range weights {
		total += w
	}
	slot, acc := 0, 0
	for i, w := range weights {
		acc += w
		end := acc * len(p) / total
		for ; slot < end; slot++ {
			p[slot] = uint8(i)
		}
	}
	return &p
}

func (p *picker) pick(r *rng) int { return int(p[r.u64()>>54]) }

// Shared read-only tables, built once.
var (
	provincePick = newPicker(func() []int {
		w := make([]int, len(Provinces))
		for i, p := range Provinces {
			w[i] = p.Weight
		}
		return w
	}())
	sourcePick = newPicker(func() []int {
		w := make([]int, len(DataSources))
		for i, d := range DataSources {
			w[i] = d.Weight
		}
		return w
	}())
	demoKey = func() []byte {
		k, err := hex.DecodeString(DemoMobileKeyHex)
		if err != nil {
			panic(err)
		}
		return k
	}()
)

// Event keys. The 210315_QYCS family exercises the routing rules: "contains
// 210315_QYCS and is not ^210315_QYCS_\d+$" goes to 51006, the numbered
// form to 51010.
var (
	// Preset events by platform; custom events are shared.
	appEvents = []string{
		"$AppViewScreen", "$AppClick", "$AppStart", "$AppEnd", "$AppViewScreen", "$AppClick",
		"page_exposure", "btn_click", "banner_exposure", "search_click", "pay_result", "login_success",
	}
	webEvents = []string{
		"$pageview", "$WebClick", "$WebStay", "$pageview", "$WebClick",
		"page_exposure", "btn_click", "banner_exposure", "search_click", "pay_result", "login_success",
	}
	mpEvents = []string{
		"$MPViewScreen", "$MPClick", "$MPLaunch", "$MPShow", "$MPViewScreen",
		"page_exposure", "btn_click", "banner_exposure", "search_click", "pay_result", "login_success",
	}
	qycsEvents = []string{
		"210315_QYCS", "210315_QYCS_1", "210315_QYCS_2", "210315_QYCS_12",
		"210315_QYCS_37", "210315_QYCS_qy", "h5_210315_QYCS", "210315_QYCS_03",
	}
	mobilePrefixes = []string{
		"134", "135", "136", "137", "138", "139", "147", "150", "151", "152", "157",
		"158", "159", "178", "182", "183", "184", "187", "188", "195", "197", "198",
	}
	channels   = []string{"yingyongbao", "huawei", "xiaomi", "oppo", "vivo", "honor", "appstore", "official", "sms", "wechat", "alipay", "1001", "1002", "2105", ""}
	sdkVers    = []string{"3.2.1", "3.2.0", "3.1.12", "3.1.9", "2.9.8"}
	jsSDKVers  = []string{"js-1.24.3", "js-1.24.1", "js-1.23.0", "js-1.18.7"}
	appVers    = []string{"11.3.0", "11.2.5", "11.2.0", "11.1.3", "11.0.2", "10.9.1", "10.8.0", "9.5.2"}
	androidVer = []string{"14", "13", "12", "11", "10", "9"}
	iosVer     = []string{"18_1", "17_6_1", "17_5", "17_1_2", "16_7_10", "16_3", "15_8_3"}
	harmonyVer = []string{"4.2", "4.1", "5.0"}
	buildTags  = []string{"SP1A", "TP1A", "UKQ1", "AP3A", "RKQ1", "QP1A", "AP2A", "TKQ1"}
	chromeMaj  = []string{"124", "122", "120", "116", "114", "109", "99"}
	domainsH5  = []string{"h.app.coc.10086.cn", "touch.10086.cn", "wap.10086.cn", "m.10086.cn", "qy.10086.cn", "activity.10086.cn"}
	domainsApp = []string{"app.10086.cn", "", ""}
	domainsPC  = []string{"www.10086.cn", "gz.10086.cn", "service.10086.cn"}
	pages      = []string{
		"/app/home.html", "/app/bill.html", "/app/flow.html", "/app/pay.html", "/act/d12.html",
		"/qy/center.html", "/mall/item", "/app/mine.html", "/5g/zone.html", "/kd/apply.html",
	}
	itemPages = []string{"/mall/item/", "/act/", "/qy/goods/", "/app/notice/"}
	titles    = []string{
		"首页", "话费查询", "流量套餐", "我的", "权益中心", "5G专区", "账单详情", "充值缴费",
		"宽带办理", "积分商城", "热门活动", "会员权益",
	}
	eventTypes = []string{"pv", "clk", "exp", "stay", "clk", "pv"}
	// IPv4 ranges held by mobile carriers, as (first octet, second lo, second hi).
	ipRanges = [][3]int{
		{112, 0, 63}, {117, 128, 191}, {120, 192, 255}, {183, 192, 255},
		{211, 136, 143}, {221, 176, 183}, {36, 128, 191}, {39, 128, 191}, {223, 64, 95},
	}
)

const hexDigits = "0123456789abcdef"
const hexUpper = "0123456789ABCDEF"

// rowGen makes the rows of one file. It holds only per-file state, so
// files are generated in parallel and each is a pure function of its seed.
type rowGen struct {
	r         rng
	block     cipher.Block
	dt, hour  string
	hourStart int64 // epoch ms of the hour, UTC+8
	scratch   []byte
	pt, ct    [16]byte
}

func newRowGen(seed1, seed2 uint64, dt string, hour int, hourStart int64) *rowGen {
	b, err := aes.NewCipher(demoKey)
	if err != nil {
		panic(err) // a 16-byte key cannot fail
	}
	g := &rowGen{block: b, dt: dt, hourStart: hourStart, scratch: make([]byte, 0, 512)}
	g.r.p.Seed(seed1, seed2)
	g.hour = twoDigits(hour)
	return g
}

func twoDigits(n int) string { return string([]byte{byte('0' + n/10), byte('0' + n%10)}) }

func appendHex(b []byte, v uint64, n int, digits string) []byte {
	for i := 0; i < n; i++ {
		b = append(b, digits[v&15])
		v >>= 4
	}
	return b
}

// appendUUID writes a version-4-looking UUID.
func appendUUID(b []byte, r *rng, digits string) []byte {
	x, y := r.u64(), r.u64()
	b = appendHex(b, x, 8, digits)
	b = append(b, '-')
	b = appendHex(b, x>>32, 4, digits)
	b = append(b, '-', '4')
	b = appendHex(b, x>>48, 3, digits)
	b = append(b, '-', digits[8+(y&3)])
	b = appendHex(b, y>>2, 3, digits)
	b = append(b, '-')
	return appendHex(b, y>>14, 12, digits)
}

func appendDigits(b []byte, r *rng, n int) []byte {
	for n > 0 {
		v := r.u64()
		for k := 0; k < 18 && n > 0; k, n = k+1, n-1 {
			b = append(b, byte('0'+v%10))
			v /= 10
		}
	}
	return b
}

// appendMicro writes v/1e6 with exactly six decimals.
func appendMicro(b []byte, v int64) []byte {
	b = strconv.AppendInt(b, v/1000000, 10)
	b = append(b, '.')
	f := v % 1000000
	for d := int64(100000); d > 0; d /= 10 {
		b = append(b, byte('0'+f/d%10))
	}
	return b
}

// appendEscape percent-encodes s the way URL query values are (space as
// %20, unreserved characters kept).
func appendEscape[S string | []byte](b []byte, s S) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b = append(b, c)
		} else {
			b = append(b, '%', hexUpper[c>>4], hexUpper[c&15])
		}
	}
	return b
}

// appendMobile writes an 11-digit mobile encrypted the way the app does it:
// AES-128-ECB, PKCS#7, base64 (24 chars ending in "=="). bad makes the
// padding invalid (last byte 0) so the decrypting side must yield null.
func (g *rowGen) appendMobile(b []byte, bad bool) []byte {
	pt, ct := &g.pt, &g.ct // fields: a local would escape through cipher.Block
	m := append(pt[:0], g.r.pick(mobilePrefixes)...)
	m = appendDigits(m, &g.r, 8)
	for i := len(m); i < 16; i++ {
		pt[i] = byte(16 - len(m))
	}
	if bad {
		pt[15] = 0
	}
	g.block.Encrypt(ct[:], pt[:])
	var enc [24]byte
	base64.StdEncoding.Encode(enc[:], ct[:])
	return append(b, enc[:]...)
}

// appendToken writes 16 random bytes in base64, like an encrypted id.
func (g *rowGen) appendToken(b []byte) []byte {
	var raw [16]byte
	binary.LittleEndian.PutUint64(raw[:8], g.r.u64())
	binary.LittleEndian.PutUint64(raw[8:], g.r.u64())
	var enc [24]byte
	base64.StdEncoding.Encode(enc[:], raw[:])
	return append(b, enc[:]...)
}

// appendModel writes a device model in one of the big brands' patterns
// (vivo V2227A, OPPO PHB110, Xiaomi 23049RAD8C, Huawei/Honor ALN-AL00,
// Samsung SM-S9180), with random parts: real data has thousands of models.
func (g *rowGen) appendModel(b []byte) []byte {
	r := &g.r
	const upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	switch r.n(5) {
	case 0:
		b = append(b, 'V', '2')
		b = appendDigits(b, r, 3)
		return append(b, 'A')
	case 1:
		b = append(b, 'P', upper[r.n(26)], upper[r.n(26)])
		if r.per(500) {
			b = append(b, upper[r.n(26)])
		}
		b = append(b, '1')
		return appendDigits(b, r, 2)
	case 2:
		b = append(b, '2')
		b = appendDigits(b, r, 4)
		b = append(b, upper[r.n(26)], upper[r.n(26)], byte('0'+r.n(10)))
		return append(b, 'C')
	case 3:
		b = append(b, upper[r.n(26)], upper[r.n(26)], upper[r.n(26)], '-', 'A')
		b = append(b, "LN"[r.n(2)])
		b = append(b, byte('0'+r.n(2)))
		return append(b, '0')
	default:
		b = append(b, "SM-"...)
		b = append(b, "SGANF"[r.n(5)])
		return appendDigits(b, r, 4)
	}
}

// appendBuild writes an Android build id such as TP1A.220624.014.
func (g *rowGen) appendBuild(b []byte) []byte {
	b = append(b, g.r.pick(buildTags)...)
	b = append(b, '.', '2')
	b = appendDigits(b, &g.r, 5)
	b = append(b, '.', '0')
	return appendDigits(b, &g.r, 2)
}

// appendChrome writes a full Chrome version such as 120.0.6099.230.
func (g *rowGen) appendChrome(b []byte) []byte {
	b = append(b, g.r.pick(chromeMaj)...)
	b = append(b, ".0."...)
	b = strconv.AppendInt(b, int64(4000+g.r.n(2400)), 10)
	b = append(b, '.')
	return strconv.AppendInt(b, int64(g.r.n(250)), 10)
}

// appendToken32 writes 32 random bytes in base64 (44 chars).
func (g *rowGen) appendToken32(b []byte) []byte {
	var raw [32]byte
	for i := 0; i < 32; i += 8 {
		binary.LittleEndian.PutUint64(raw[i:], g.r.u64())
	}
	var enc [44]byte
	base64.StdEncoding.Encode(enc[:], raw[:])
	return append(b, enc[:]...)
}

func (g *rowGen) appendUA(b []byte, p Platform, appVer string) []byte {
	r := &g.r
	switch p {
	case Android, H5, MiniProgram:
		if p == Android && r.per(950) {
			switch k := r.n(100); {
			case k < 11:
				return append(b, "okhttp/4.9.3"...)
			case k < 87: // the app's own compact UA
				b = append(b, "leadeon/"...)
				b = append(b, appVer...)
				b = append(b, " (Android "...)
				b = append(b, r.pick(androidVer)...)
				b = append(b, "; "...)
				b = g.appendModel(b)
				return append(b, ')')
			}
			b = append(b, "Dalvik/2.1.0 (Linux; U; Android "...)
			b = append(b, r.pick(androidVer)...)
			b = append(b, "; "...)
			b = g.appendModel(b)
			b = append(b, " Build/"...)
			b = g.appendBuild(b)
			return append(b, ')')
		}
		if p != Android && r.per(420) {
			return g.appendIOSWeb(b, p, appVer)
		}
		if p == H5 && appVer == "" && r.per(500) { // a browser's reduced UA
			b = append(b, "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/"...)
			b = append(b, r.pick(chromeMaj)...)
			return append(b, ".0.0.0 Mobile Safari/537.36"...)
		}
		b = append(b, "Mozilla/5.0 (Linux; Android "...)
		b = append(b, r.pick(androidVer)...)
		b = append(b, "; "...)
		b = g.appendModel(b)
		b = append(b, " Build/"...)
		b = g.appendBuild(b)
		b = append(b, "; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/"...)
		b = g.appendChrome(b)
		b = append(b, " Mobile Safari/537.36"...)
		switch {
		case p == MiniProgram:
			b = append(b, " MicroMessenger/8.0.4"...)
			b = append(b, byte('0'+r.n(10)))
			b = append(b, " miniProgram"...)
		case appVer != "":
			b = append(b, " leadeon/"...)
			b = append(b, appVer...)
		}
		return b
	case IOS:
		if r.per(900) {
			b = append(b, "leadeon/"...)
			b = append(b, appVer...)
			return append(b, " CFNetwork/1494.0.7 Darwin/23.4.0"...)
		}
		return g.appendIOSWeb(b, p, appVer)
	case Harmony:
		if r.per(800) {
			b = append(b, "leadeon/"...)
			b = append(b, appVer...)
			b = append(b, " (HarmonyOS "...)
			b = append(b, r.pick(harmonyVer)...)
			b = append(b, "; "...)
			b = g.appendModel(b)
			return append(b, ')')
		}
		b = append(b, "Mozilla/5.0 (Phone; OpenHarmony "...)
		b = append(b, r.pick(harmonyVer)...)
		b = append(b, ") AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.0.0 Safari/537.36 ArkWeb/4.1.6.1 Mobile leadeon/"...)
		return append(b, appVer...)
	default: // PC
		b = append(b, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/"...)
		b = g.appendChrome(b)
		b = append(b, " Safari/537.36"...)
		if r.per(400) {
			b = append(b, " Edg/"...)
			b = g.appendChrome(b)
		}
		return b
	}
}

func (g *rowGen) appendIOSWeb(b []byte, p Platform, appVer string) []byte {
	r := &g.r
	b = append(b, "Mozilla/5.0 (iPhone; CPU iPhone OS "...)
	b = append(b, r.pick(iosVer)...)
	b = append(b, " like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"...)
	switch {
	case p == MiniProgram:
		b = append(b, " MicroMessenger/8.0.4"...)
		b = append(b, byte('0'+r.n(10)))
		b = append(b, " NetType/WIFI Language/zh_CN miniProgram"...)
	case appVer != "":
		b = append(b, " leadeon/"...)
		b = append(b, appVer...)
	}
	return b
}

// appendPageURL writes a page URL, percent-encoded as it sits in WT_es.
// pageId is sometimes longer than the 19 characters DWD keeps, channelId
// longer than 12, and sometimes empty (DWD turns empty into null).
func (g *rowGen) appendPageURL(b []byte, host string) []byte {
	r := &g.r
	if host == "" {
		host = "h.app.coc.10086.cn"
	}
	u := append(g.scratch[:0], "https://"...)
	u = append(u, host...)
	if r.per(400) { // item and campaign pages carry an id in the path
		u = append(u, r.pick(itemPages)...)
		u = appendDigits(u, r, 6+r.n(4))
	} else {
		u = append(u, r.pick(pages)...)
	}
	u = append(u, "?pageId="...)
	if !r.per(80) {
		u = appendDigits(u, r, 12+r.n(12))
	}
	u = append(u, "&channelId="...)
	if !r.per(80) {
		u = append(u, 'C')
		u = appendHex(u, r.u64(), 8+r.n(8), hexUpper)
	}
	g.scratch = u
	return appendEscape(b, u)
}

// appendAttributes writes the WT_* JSON map: {} for half the rows, a page
// map (event type, encoded page URL, title) for a fifth, a short map for
// the rest; WT_vtid is a random visitor token, WT_av the app version.
// A few rows carry the defects the cleaning must survive: a malformed
// escape (0.3%), a raw '|' in a title (0.5%), truncated JSON (0.1%).
func (g *rowGen) appendAttributes(b []byte, p Platform, host, appVer string) []byte {
	r := &g.r
	kind := r.n(1000)
	if kind < 550 {
		return append(b, "{}"...)
	}
	start := len(b)
	b = append(b, `{"WT_vtid":"`...)
	b = g.appendToken(b)
	if kind < 750 {
		b = append(b, `","WT_et":"`...)
		b = append(b, r.pick(eventTypes)...)
		b = append(b, `","WT_es":"`...)
		if r.per(8) {
			b = append(b, "https%3A%2F%2F"...)
			b = append(b, host...)
			b = append(b, "%2Findex.html%3FpageId%3D%E4%B8%zz"...)
		} else {
			b = g.appendPageURL(b, host)
		}
		b = append(b, `","WT_ti":"`...)
		switch t := r.pick(titles); {
		case r.per(14):
			b = append(b, "话费|流量"...)
		case r.per(300):
			b = appendEscape(b, t)
		default:
			b = append(b, t...)
		}
	}
	if appVer != "" && !r.per(150) { // missing WT_av exercises the fallback
		b = append(b, `","WT_av":"APP_`...)
		switch p {
		case IOS:
			b = append(b, "ios_"...)
		case Harmony:
			b = append(b, "harmony_"...)
		default:
			b = append(b, "android_"...)
		}
		b = append(b, appVer...)
	}
	b = append(b, `"}`...)
	if r.per(3) { // cut on an ASCII byte so the line stays valid UTF-8
		cut := start + (len(b)-start)/2
		for b[cut-1] >= 0x80 {
			cut--
		}
		b = b[:cut]
	}
	return b
}

// appendRow appends one \x01-delimited, \n-terminated row to b.
func (g *rowGen) appendRow(b []byte) []byte {
	r := &g.r
	const sep = '\x01'
	ds := &DataSources[sourcePick.pick(r)]
	p := ds.Platform
	appVer := ""
	if ds.Group == "app" || p == Android || p == IOS || p == Harmony {
		appVer = r.pick(appVers)
	}

	// 1 event_id
	b = appendUUID(b, r, hexDigits)
	b = append(b, sep)
	// 2 device_id: the SDK sends the device id (OAID/IDFV) encrypted
	b = g.appendToken32(b)
	b = append(b, sep)
	// 3 mc_ev
	if r.per(60) {
		b = append(b, r.pick(qycsEvents)...)
	} else {
		switch p {
		case Android, IOS, Harmony:
			b = append(b, r.pick(appEvents)...)
		case MiniProgram:
			b = append(b, r.pick(mpEvents)...)
		default:
			b = append(b, r.pick(webEvents)...)
		}
	}
	b = append(b, sep)
	// 4, 5 server_time, client_time
	st := g.hourStart + int64(r.n(3600000))
	ct := st - int64(r.n(3000))
	if r.per(50) {
		ct -= int64(r.n(600000))
	}
	if ct < g.hourStart {
		ct = g.hourStart
	}
	b = strconv.AppendInt(b, st, 10)
	b = append(b, sep)
	b = strconv.AppendInt(b, ct, 10)
	b = append(b, sep)
	// 6, 7 user_key, user_value
	switch u := r.n(1000); {
	case u < 600:
		b = append(b, "$basic_userId"...)
		b = append(b, sep)
		switch v := r.n(1000); {
		case v < 15:
			b = g.appendMobile(b, true)
		case v < 50: // plain mobile: does not end in ==, kept as is
			b = append(b, r.pick(mobilePrefixes)...)
			b = appendDigits(b, r, 8)
		default:
			b = g.appendMobile(b, false)
		}
	case u < 850: // an encrypted anonymous id: ends in == but is not a mobile
		b = append(b, "$anonymous_id"...)
		b = append(b, sep)
		b = g.appendToken(b)
	default:
		b = append(b, sep)
	}
	b = append(b, sep)
	// 8 session_id
	b = appendHex(b, r.u64(), 16, hexDigits)
	b = appendHex(b, r.u64(), 16, hexDigits)
	b = append(b, sep)
	// 9 package
	switch p {
	case Android:
		b = append(b, "com.greenpoint.android.mc10086"...)
	case IOS:
		b = append(b, "com.chinamobile.leadeon"...)
	case Harmony:
		b = append(b, "com.chinamobile.leadeon.hm"...)
	case MiniProgram:
		b = append(b, "wx"...)
		b = appendHex(b, uint64(ds.Weight)*0x9e3779b97f4a7c15, 16, hexDigits)
	}
	b = append(b, sep)
	// 10 channel, 11 data_source_id
	b = append(b, r.pick(channels)...)
	b = append(b, sep)
	b = append(b, ds.ID...)
	b = append(b, sep)
	// 12 domain
	var host string
	switch p {
	case Android, IOS, Harmony:
		host = r.pick(domainsApp)
	case PC:
		host = r.pick(domainsPC)
	default:
		host = r.pick(domainsH5)
	}
	b = append(b, host...)
	b = append(b, sep)
	// 13 ip
	ipr := ipRanges[r.n(len(ipRanges))]
	x := r.u64()
	b = strconv.AppendInt(b, int64(ipr[0]), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(ipr[1]+int(x%uint64(ipr[2]-ipr[1]+1))), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(x>>16&255), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(1+x>>24%254), 10)
	b = append(b, sep)
	// 14 user_agent
	if !r.per(150) { // server-side and some SDK events carry no UA
		b = g.appendUA(b, p, appVer)
	}
	b = append(b, sep)
	// 15 sdk_version
	if p == H5 || p == PC || p == MiniProgram {
		b = append(b, r.pick(jsSDKVers)...)
	} else {
		b = append(b, r.pick(sdkVers)...)
	}
	b = append(b, sep)
	// 16, 17 latitude, longitude (mainland box; empty without permission)
	if p != PC && !r.per(350) {
		b = appendMicro(b, 22000000+int64(r.n(19000000)))
		b = append(b, sep)
		b = appendMicro(b, 102000000+int64(r.n(20000000)))
	} else {
		b = append(b, sep)
	}
	b = append(b, sep)
	// 18 attributes
	b = g.appendAttributes(b, p, host, appVer)
	b = append(b, sep)
	// 19 province, 20 dt, 21 hour
	b = append(b, Provinces[provincePick.pick(r)].Code...)
	b = append(b, sep)
	b = append(b, g.dt...)
	b = append(b, sep)
	b = append(b, g.hour...)
	return append(b, '\n')
}
