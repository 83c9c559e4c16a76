package transform

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/etl/funcs"
)

// openShared opens t's resources for a test and closes them when it ends.
func openShared(tb testing.TB, t *config.Transform) (*funcs.Shared, error) {
	tb.Helper()
	res, err := OpenResources(t)
	if err != nil {
		return nil, err
	}
	sh := res.Shared
	tb.Cleanup(func() { res.Close() })
	return sh, nil
}

// The mobile key is loaded by OpenResources; a config that did not go
// through Validate must not get its pasted key echoed there either.
func TestOpenResourcesDoesNotEchoAPastedKey(t *testing.T) {
	tr := &config.Transform{MobileKeyEnv: "00112233445566778899aabbccddeeff"}
	_, err := OpenResources(tr)
	if err == nil {
		t.Fatal("a key pasted into mobile_key_env was accepted")
	}
	if strings.Contains(err.Error(), "00112233") {
		t.Errorf("the error echoes the key: %v", err)
	}
	if !strings.Contains(err.Error(), "transform.mobile_key_env") {
		t.Errorf("the error does not name the key: %v", err)
	}
}

// OpenResources opens what the section names and nothing else; a missing
// database or key is its error, not the config's.
func TestOpenResources(t *testing.T) {
	res, err := OpenResources(&config.Transform{UACache: 7})
	if err != nil {
		t.Fatal(err)
	}
	if res.Shared == nil || res.Shared.IP != nil || res.Shared.Mobile != nil || res.Shared.UACache != 7 {
		t.Errorf("nothing configured, got %+v", res.Shared)
	}
	if err := res.Close(); err != nil || res.Shared != nil {
		t.Errorf("Close: %v, Shared %v", err, res.Shared)
	}
	if err := res.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := (*Resources)(nil).Close(); err != nil {
		t.Errorf("nil Close: %v", err)
	}

	dir := t.TempDir()
	if _, err := OpenResources(&config.Transform{IPDB: filepath.Join(dir, "none.xdb")}); err == nil || !strings.Contains(err.Error(), "ip2region database") {
		t.Errorf("a missing ip_db: %v", err)
	}
	key := filepath.Join(dir, "mobile.key")
	if err := os.WriteFile(key, []byte("00112233445566778899aabbccddeeff\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err = OpenResources(&config.Transform{MobileKeyFile: key})
	if err != nil || res.Shared.Mobile == nil {
		t.Fatalf("mobile_key_file: %v", err)
	}
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenResources(&config.Transform{MobileKeyFile: key}); err == nil || !strings.Contains(err.Error(), "0600") {
		t.Errorf("a loose key file: %v", err)
	}
}
