package config

import (
	"strings"
	"testing"
	"time"
)

const oneIface = "sources: {local: {type: file, root: /d}}\ninterfaces: {\"51007\": {source: local, path: \"x/{date}\"}}\n"

func TestClusterDefaults(t *testing.T) {
	c, err := Parse([]byte(oneIface))
	if err != nil {
		t.Fatal(err)
	}
	if c.LeasesOn() || c.Ledger.LeaseTTL.D() != 2*time.Minute {
		t.Errorf("sqlite: leases %v ttl %s", c.LeasesOn(), c.Ledger.LeaseTTL.D())
	}
	c, err = Parse([]byte("ledger: {driver: postgres, dsn_env: CHAMA_DSN}\n" + oneIface))
	if err != nil {
		t.Fatal(err)
	}
	if !c.LeasesOn() {
		t.Error("postgres: leases off")
	}
}

// A shared chunk store needs the PostgreSQL ledger and its leases.
func TestClusterValidation(t *testing.T) {
	for _, c := range []struct{ y, want string }{
		{"chunk_store: {type: file, dir: /mnt/shared/chunks}\n", "chunk_store: a shared chunk store means several machines, which need the shared PostgreSQL ledger"},
		{"ledger: {driver: postgres, dsn_env: D, leases: false}\nchunk_store: {type: file, dir: /mnt/x}\n", "ledger.leases: several machines (chunk_store) need leases"},
		{"ledger: {driver: postgres, dsn_env: D}\nchunk_store: {type: file, dir: rel/x}\n", `chunk_store.dir: "rel/x": want an absolute folder every machine mounts`},
		{"ledger: {driver: postgres, dsn_env: D}\nchunk_store: {type: hdfs, dir: /c, source: local}\nsources: {local: {type: file, root: /d}}\n", `chunk_store.source: "local": name an hdfs source`},
		{"ledger: {driver: postgres, dsn_env: D}\nchunk_store: {type: s3, dir: /c}\n", `chunk_store.type: "s3" is not file or hdfs`},
		{"ledger: {lease_ttl: 1s}\n", "ledger.lease_ttl: 1s: want 10s to 1h"},
	} {
		_, err := Parse([]byte(c.y))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.y, err, c.want)
		}
	}
	ok := "ledger: {driver: postgres, dsn_env: D}\nchunk_store: {type: file, dir: /mnt/shared}\nsources: {local: {type: file, root: /d}}\ninterfaces: {\"51007\": {source: local, path: \"x/{date}\"}}\n"
	if _, err := Parse([]byte(ok)); err != nil {
		t.Errorf("valid: %v", err)
	}
}
