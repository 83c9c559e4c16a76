//go:build !unix

package pull

// lockStage is a no-op where flock is not available.
func lockStage(dir string) (func(), error) { return func() {}, nil }
