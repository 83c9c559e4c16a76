package funcs

import (
	"hash/maphash"
	"strings"
)

// UA is what chama reads from a user-agent string. Empty fields are
// unknown (the ua_* functions give null for them).
type UA struct {
	OS, OSVersion            string
	Browser, BrowserVersion  string
	DeviceBrand, DeviceModel string
}

// uaCache is a bounded cache of parsed user agents, fronted by the last
// one seen: the six ua_* calls of a row hit the front entry, and the few
// thousand distinct agents of an hour hit the maps. It keeps two
// generations of at most max/2 agents: a hit in the current one writes
// nothing (an LRU list's move cost several cache misses a row), a hit in
// the previous one brings the agent forward, and a full current
// generation retires the previous one, so rarely used agents go first.
type uaCache struct {
	half     int
	seed     maphash.Seed
	cur, old map[uint64]*uaEntry // by the agent's hash, computed once a lookup
	lastKey  string
	last     *UA
	// Parses counts real parses (tests check the cache works).
	Parses int
}

type uaEntry struct {
	key string
	ua  *UA
}

func newUACache(n int) *uaCache {
	h := max(n/2, 1)
	return &uaCache{half: h, seed: maphash.MakeSeed(), cur: make(map[uint64]*uaEntry, h), old: map[uint64]*uaEntry{}}
}

func (c *uaCache) get(s string) *UA {
	if c.last != nil && c.lastKey == s {
		return c.last
	}
	// One hash of the agent (100-300 bytes) serves both generations and
	// the insert; a hash shared by two agents is a miss that replaces.
	h := maphash.String(c.seed, s)
	e, ok := c.cur[h]
	if !ok || e.key != s {
		if e, ok = c.old[h]; ok && e.key == s {
			delete(c.old, h)
		} else {
			k := strings.Clone(s) // the key and the fields cut from it outlive the batch
			e = &uaEntry{k, ParseUA(k)}
			c.Parses++
		}
		if len(c.cur) >= c.half {
			c.old, c.cur = c.cur, make(map[uint64]*uaEntry, c.half)
		}
		c.cur[h] = e
	}
	c.lastKey, c.last = s, e.ua
	return e.ua
}

// has reports whether the agent is cached (tests).
func (c *uaCache) has(s string) bool {
	h := maphash.String(c.seed, s)
	e1, ok1 := c.cur[h]
	e2, ok2 := c.old[h]
	return ok1 && e1.key == s || ok2 && e2.key == s
}

func (s *Set) uaField(get func(*UA) string) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if err := arity("ua_*", args, 1, 1); err != nil {
			return nil, err
		}
		v, ok := str(args[0])
		if !ok || v == "" {
			return nil, nil
		}
		if r := get(s.userAgent(v)); r != "" {
			return r, nil
		}
		return nil, nil
	}
}

// ParseUA reads the OS, browser and device from a user agent. It knows the
// main app's `leadeon/x.y.z` marker, the WeChat, Alipay, QQ and UC in-app
// browsers and the common desktop browsers.
func ParseUA(s string) *UA {
	u := &UA{}
	// The platform and device are in the first parenthesised part; scanning
	// only that keeps a parse near a microsecond (half the generated agents
	// are distinct, so parses are not rare).
	p := s
	if i := strings.IndexByte(s, '('); i >= 0 {
		if j := strings.IndexByte(s[i:], ')'); j >= 0 {
			p = s[i+1 : i+j]
		}
	}
	// OS. Each marker is looked for once; the device below reuses them.
	harmony := strings.Contains(p, "HarmonyOS") || strings.Contains(p, "OpenHarmony")
	android := !harmony && strings.Contains(p, "Android")
	iphone, ipad := strings.Contains(p, "iPhone"), strings.Contains(p, "iPad")
	switch {
	case harmony:
		u.OS = "HarmonyOS"
		u.OSVersion = versionAfter(p, "HarmonyOS ", " ;)")
		if u.OSVersion == "" {
			u.OSVersion = versionAfter(p, "OpenHarmony ", " ;)")
		}
	case android:
		u.OS = "Android"
		u.OSVersion = versionAfter(p, "Android ", " ;)")
	case iphone || ipad || strings.Contains(p, "iPod"):
		u.OS = "iOS"
		v := versionAfter(p, "iPhone OS ", " ;)")
		if v == "" {
			v = versionAfter(p, "CPU OS ", " ;)")
		}
		u.OSVersion = strings.ReplaceAll(v, "_", ".")
	case strings.Contains(p, "Windows NT"):
		u.OS = "Windows"
		u.OSVersion = versionAfter(p, "Windows NT ", " ;)")
	case strings.Contains(p, "Mac OS X"):
		u.OS = "Mac OS X"
		u.OSVersion = strings.ReplaceAll(versionAfter(p, "Mac OS X ", " ;)"), "_", ".")
	case strings.Contains(p, "Linux"):
		u.OS = "Linux"
	}
	// Browser or app: one pass over the name/version tokens; the most
	// specific marker wins.
	best := len(browsers)
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '/')
		if j < 0 {
			break
		}
		slash := i + j
		k := slash
		for k > 0 && s[k-1] != ' ' && s[k-1] != ')' && s[k-1] != '(' && s[k-1] != ';' {
			k--
		}
		if r := browserRank(s[k:slash]); r < best {
			best = r
			u.BrowserVersion = versionToken(s[slash+1:])
		}
		i = slash + 1
	}
	if best < len(browsers) {
		u.Browser = browsers[best]
	}
	// Device.
	switch {
	case iphone:
		u.DeviceBrand, u.DeviceModel = "Apple", "iPhone"
	case ipad:
		u.DeviceBrand, u.DeviceModel = "Apple", "iPad"
	case strings.Contains(p, "Macintosh"):
		u.DeviceBrand, u.DeviceModel = "Apple", "Mac"
	case u.OS == "Android" || u.OS == "HarmonyOS":
		u.DeviceModel = androidModel(p)
		u.DeviceBrand = brandOf(u.DeviceModel, s)
	}
	return u
}

// browserRank is a token name's (before its '/') priority in browsers, or
// len(browsers). A switch, not a map: most tokens (Mozilla, AppleWebKit,
// Safari, Build) are rejected on their length without hashing them.
func browserRank(tok string) int {
	switch tok {
	case "leadeon":
		return 0
	case "MicroMessenger":
		return 1
	case "AlipayClient":
		return 2
	case "MQQBrowser":
		return 3
	case "UCBrowser":
		return 4
	case "HuaweiBrowser":
		return 5
	case "MiuiBrowser":
		return 6
	case "Edg":
		return 7
	case "OPR":
		return 8
	case "Firefox":
		return 9
	case "CriOS":
		return 10
	case "Chrome":
		return 11
	case "Version":
		return 12
	}
	return len(browsers)
}

// browsers are the names of browserRank's tokens, by rank: the app
// first, then in-app browsers, then desktop browsers, Safari's Version
// last (every WebKit agent has it).
var browsers = []string{
	"leadeon", "WeChat", "Alipay", "QQBrowser", "UCBrowser", "HuaweiBrowser", "MiuiBrowser",
	"Edge", "Opera", "Firefox", "Chrome" /* CriOS */, "Chrome", "Safari" /* Version */}

// versionAfter returns the text after marker up to one of the stop bytes.
func versionAfter(s, marker, stops string) string {
	i := strings.Index(s, marker)
	if i < 0 {
		return ""
	}
	rest := s[i+len(marker):]
	if j := strings.IndexAny(rest, stops); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// versionToken reads digits, dots and underscores (a version such as 9.5.0).
func versionToken(s string) string {
	j := 0
	for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' || s[j] == '_') {
		j++
	}
	return strings.TrimRight(s[:j], "._")
}

// androidModel is the token after "Android x;" and before "Build/" or ")".
func androidModel(s string) string {
	i := strings.Index(s, "Android")
	if i < 0 {
		i = strings.Index(s, "HarmonyOS")
	}
	if i < 0 {
		return ""
	}
	rest := s[i:]
	end := strings.IndexByte(rest, ')')
	if end >= 0 {
		rest = rest[:end]
	}
	// Walk the ';'-separated parts from the last, without splitting.
	for end := len(rest); end > 0; {
		start := strings.LastIndexByte(rest[:end], ';')
		if start < 0 {
			break // the first part is "Android x" itself
		}
		p := strings.TrimSpace(rest[start+1 : end])
		end = start
		if b := strings.Index(p, " Build/"); b >= 0 {
			p = strings.TrimSpace(p[:b])
		} else if strings.HasPrefix(p, "Build/") {
			continue
		}
		if p == "" || p == "wv" || p == "U" || p == "HarmonyOS" || strings.HasPrefix(p, "HMSCore") || strings.HasPrefix(p, "zh-") || strings.HasPrefix(p, "en-") || len(p) == 2 {
			continue
		}
		return p
	}
	return ""
}

var brandPrefixes = []struct{ prefix, brand string }{
	{"SM-", "Samsung"}, {"SAMSUNG", "Samsung"}, {"GT-", "Samsung"},
	{"HUAWEI", "Huawei"}, {"HONOR", "Honor"}, {"Honor", "Honor"},
	{"ELE-", "Huawei"}, {"VOG-", "Huawei"}, {"LIO-", "Huawei"}, {"NOH-", "Huawei"}, {"ANA-", "Huawei"}, {"TAS-", "Huawei"}, {"MAR-", "Huawei"}, {"JAD-", "Huawei"},
	{"Redmi", "Xiaomi"}, {"MI ", "Xiaomi"}, {"Mi ", "Xiaomi"}, {"MIX", "Xiaomi"}, {"M2", "Xiaomi"}, {"22", "Xiaomi"}, {"23", "Xiaomi"},
	{"OPPO", "OPPO"}, {"PC", "OPPO"}, {"PD", "OPPO"}, {"PE", "OPPO"}, {"PF", "OPPO"}, {"PG", "OPPO"}, {"PH", "OPPO"},
	{"vivo", "vivo"}, {"V1", "vivo"}, {"V2", "vivo"},
	{"RMX", "realme"}, {"OnePlus", "OnePlus"}, {"ONEPLUS", "OnePlus"}, {"Meizu", "Meizu"}, {"MEIZU", "Meizu"},
	{"Pixel", "Google"}, {"Nokia", "Nokia"}, {"ZTE", "ZTE"}, {"Lenovo", "Lenovo"},
}

// brandsByFirst indexes brandPrefixes by their first byte, in list order.
var brandsByFirst = func() (t [256][]int) {
	for i, b := range brandPrefixes {
		t[b.prefix[0]] = append(t[b.prefix[0]], i)
	}
	return t
}()

func brandOf(model, ua string) string {
	if model != "" {
		for _, i := range brandsByFirst[model[0]] {
			if b := brandPrefixes[i]; strings.HasPrefix(model, b.prefix) {
				return b.brand
			}
		}
	}
	if strings.Contains(ua, "HarmonyOS") || strings.Contains(ua, "HuaweiBrowser") {
		return "Huawei"
	}
	return ""
}
