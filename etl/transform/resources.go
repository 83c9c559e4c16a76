package transform

import (
	"fmt"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/etl/funcs"
)

// Resources are what the transform functions use besides the rows: the
// ip2region database (ip_prov, ip_city) and the mobile-number cipher
// (decrypt_mobile) named by the transform section. Config only checks
// that their files are there (config.CheckFiles); the stage opens them
// when it starts (Stream calls OpenResources) and closes them when it is
// done. They are read-only and shared by every worker.
type Resources struct {
	// Shared is what every worker's function set is built from
	// (Shared.NewSet).
	Shared *funcs.Shared
}

// OpenResources opens what t names: it reads the IP database and loads
// the mobile key from its env var or file. A key pasted into
// mobile_key_env is refused without being echoed.
func OpenResources(t *config.Transform) (*Resources, error) {
	// funcs.LoadMobileKey names the variable in its errors: a key pasted
	// into mobile_key_env must not get there (config validation refuses
	// it too, but t may not have been validated).
	if t.MobileKeyEnv != "" && !config.IsEnvName(t.MobileKeyEnv) {
		return nil, config.BadEnvName("transform.mobile_key_env")
	}
	sh := &funcs.Shared{UACache: t.UACache}
	if t.TimeZone != "" {
		loc, err := time.LoadLocation(t.TimeZone)
		if err != nil {
			return nil, fmt.Errorf("transform.time_zone: %w", err)
		}
		sh.Loc = loc
	}
	if t.IPDB != "" {
		db, err := funcs.OpenXDB(t.IPDB)
		if err != nil {
			return nil, err
		}
		sh.IP = db
	}
	c, err := funcs.LoadMobileKey(t.MobileKeyEnv, t.MobileKeyFile)
	if err != nil {
		return nil, err
	}
	sh.Mobile = c
	return &Resources{Shared: sh}, nil
}

// Close releases the resources once no worker uses them any more. The
// database is held in memory, so this drops the references; it may be
// called more than once, and on a nil *Resources.
func (r *Resources) Close() error {
	if r != nil {
		r.Shared = nil
	}
	return nil
}
