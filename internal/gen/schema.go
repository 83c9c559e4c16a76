// Package gen writes synthetic Hive ODS partitions shaped like the tracking
// team's real event table: hourly dt=/hour= folders of \x01-delimited,
// gzipped text, ~320 bytes a row, compressing only about 2x. It feeds the
// demo, the tests and the benchmarks, so its output is byte-identical for
// a given seed and its schema is exported for the stages that read it.
package gen

// Columns are the ODS column names in file order. Field numbers (1-based,
// as Hive and `cut -f` count) are the Field* constants.
var Columns = []string{
	"event_id",       // 1  uuid-like, random
	"device_id",      // 2  encrypted OAID/IDFV: base64 of 32 bytes
	"mc_ev",          // 3  event key, incl. 210315_QYCS routing values
	"server_time",    // 4  epoch milliseconds, inside the hour (UTC+8)
	"client_time",    // 5  epoch milliseconds, a little before server_time
	"user_key",       // 6  $basic_userId, $anonymous_id or empty
	"user_value",     // 7  AES-128-ECB base64 mobile for $basic_userId; base64 token else
	"session_id",     // 8  32 hex
	"package",        // 9  app package / mini-program id, empty for H5
	"channel",        // 10 distribution channel
	"data_source_id", // 11 one of DataSources
	"domain",         // 12 page host, empty for native events
	"ip",             // 13 public IPv4
	"user_agent",     // 14 Android/iOS/Harmony/Windows UA, app UAs carry leadeon/x.y.z
	"sdk_version",    // 15 tracking SDK version
	"latitude",       // 16 6 decimals or empty
	"longitude",      // 17 6 decimals or empty
	"attributes",     // 18 JSON map of WT_* fields
	"province",       // 19 province code, see Provinces
	"dt",             // 20 YYYYMMDD
	"hour",           // 21 HH
}

// 1-based field numbers of the columns other stages address.
const (
	FieldEventID      = 1
	FieldDeviceID     = 2
	FieldEvent        = 3
	FieldServerTime   = 4
	FieldClientTime   = 5
	FieldUserKey      = 6
	FieldUserValue    = 7
	FieldSessionID    = 8
	FieldPackage      = 9
	FieldChannel      = 10
	FieldDataSourceID = 11
	FieldDomain       = 12
	FieldIP           = 13
	FieldUserAgent    = 14
	FieldSDKVersion   = 15
	FieldLatitude     = 16
	FieldLongitude    = 17
	FieldAttributes   = 18
	FieldProvince     = 19
	FieldDt           = 20
	FieldHour         = 21
	NumFields         = 21
)

// DemoMobileKeyHex is the AES-128 key user_value mobiles are encrypted with
// ("chama-demo-key!!"). TEST AND DEMO ONLY: it is public, so it protects
// nothing; real keys live outside the repository (env var or 0600 file).
const DemoMobileKeyHex = "6368616d612d64656d6f2d6b65792121"

// Province is a province code with its share of the generated rows.
type Province struct {
	Code   string
	Name   string
	Weight int
}

// Provinces are the 31 province codes of the CM file series, skewed roughly
// by population (Guangdong, Jiangsu, Shandong, Henan, Zhejiang biggest).
var Provinces = []Province{
	{"200", "Guangdong", 90}, {"250", "Jiangsu", 70}, {"531", "Shandong", 65},
	{"371", "Henan", 60}, {"571", "Zhejiang", 55}, {"280", "Sichuan", 50},
	{"311", "Hebei", 45}, {"270", "Hubei", 40}, {"731", "Hunan", 40},
	{"551", "Anhui", 38}, {"591", "Fujian", 32}, {"100", "Beijing", 30},
	{"210", "Shanghai", 30}, {"771", "Guangxi", 28}, {"791", "Jiangxi", 26},
	{"871", "Yunnan", 26}, {"240", "Liaoning", 25}, {"290", "Shaanxi", 22},
	{"230", "Chongqing", 20}, {"351", "Shanxi", 20}, {"851", "Guizhou", 20},
	{"451", "Heilongjiang", 18}, {"431", "Jilin", 14}, {"471", "Inner Mongolia", 14},
	{"991", "Xinjiang", 13}, {"220", "Tianjin", 12}, {"931", "Gansu", 12},
	{"898", "Hainan", 9}, {"951", "Ningxia", 5}, {"971", "Qinghai", 4},
	{"891", "Tibet", 3},
}

// Platform is what produced an event; it decides UA, package and domain.
type Platform int

const (
	Android Platform = iota
	IOS
	Harmony
	H5          // mobile browser or in-app web view
	MiniProgram // WeChat mini-program
	PC          // Windows desktop browser
)

// DataSource is one data_source_id value. Group names the interface family
// the team's routing sends it to (51007 app, 51006 partner/rights, 51010
// provincial H5); "other" rows route nowhere and are counted as filtered.
type DataSource struct {
	ID       string
	Group    string
	Platform Platform
	Weight   int
}

// DataSources are the data_source_id values rows are drawn from.
var DataSources = []DataSource{
	{"2000001", "app", Android, 480},
	{"2000002", "app", IOS, 245},
	{"2000003", "app", Harmony, 50},
	{"2000010", "app", H5, 45},
	{"2000020", "app", MiniProgram, 25},
	{"3000101", "partner", H5, 35},
	{"3000102", "partner", H5, 20},
	{"3000150", "partner", MiniProgram, 15},
	{"4000201", "prov_h5", H5, 35},
	{"4000202", "prov_h5", PC, 20},
	{"9000001", "other", H5, 30},
}
