package config

import (
	"path"
	"path/filepath"
	"time"
)

// Several interface machines. They share a PostgreSQL ledger (its leases
// keep two machines off one unit of work) and, for interfaces packed hour
// by hour on several machines, a chunk store every machine reads.

// ChunkStore is the shared home of hour chunks and their manifests.
type ChunkStore struct {
	// Type is file (a folder every machine mounts, e.g. NFS) or hdfs (a
	// directory on the cluster of Source).
	Type string `yaml:"type"`
	// Dir is the store's root: an absolute local path (file) or an
	// absolute HDFS path (hdfs).
	Dir string `yaml:"dir"`
	// Source names the hdfs source whose namenodes and credentials reach
	// the store (type hdfs).
	Source string `yaml:"source"`
}

// DefaultLeaseTTL is ledger.lease_ttl when unset.
const DefaultLeaseTTL = 2 * time.Minute

func (c *Config) applyClusterDefaults() {
	if c.Ledger.LeaseTTL == 0 {
		c.Ledger.LeaseTTL = Duration(DefaultLeaseTTL)
	}
	if c.Ledger.Leases == nil {
		on := c.Ledger.Driver == "postgres"
		c.Ledger.Leases = &on
	}
}

// LeasesOn reports whether stage runs take leases.
func (c *Config) LeasesOn() bool { return c.Ledger.Leases != nil && *c.Ledger.Leases }

// validateCluster checks the lease settings and the chunk store. A
// shared chunk store means several machines, and SQLite on shared
// storage is unsafe (its locks do not hold over NFS): the ledger must be
// PostgreSQL.
func (c *Config) validateCluster(bad badFunc) {
	if ttl := c.Ledger.LeaseTTL.D(); ttl < 10*time.Second || ttl > time.Hour {
		bad("ledger.lease_ttl", "%s: want 10s to 1h (a heartbeat renews it every third)", ttl)
	}
	s := c.ChunkStore
	if s == nil {
		return
	}
	if c.Ledger.Driver != "postgres" {
		bad("chunk_store", "a shared chunk store means several machines, which need the shared PostgreSQL ledger (ledger.driver: postgres): a SQLite ledger on shared storage is unsafe")
	}
	if !c.LeasesOn() {
		bad("ledger.leases", "several machines (chunk_store) need leases: remove leases: false")
	}
	switch s.Type {
	case "file":
		if !filepath.IsAbs(s.Dir) {
			bad("chunk_store.dir", "%q: want an absolute folder every machine mounts", s.Dir)
		}
		if s.Source != "" {
			bad("chunk_store.source", "only for type: hdfs")
		}
	case "hdfs":
		if !path.IsAbs(s.Dir) {
			bad("chunk_store.dir", "%q: want an absolute HDFS path", s.Dir)
		}
		if src := c.Sources[s.Source]; src == nil || src.Type != "hdfs" {
			bad("chunk_store.source", "%q: name an hdfs source (its namenodes and credentials reach the store)", s.Source)
		}
	default:
		bad("chunk_store.type", "%q is not file or hdfs", s.Type)
	}
}
