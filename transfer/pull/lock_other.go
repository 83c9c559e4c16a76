//go:build !unix

package pull

// lockPartition is a no-op where flock is not available.
func lockPartition(dir, partition string) (func(), error) { return func() {}, nil }

// lockRecord is a no-op where flock is not available.
func lockRecord(dir string) (func(), error) { return func() {}, nil }
