//go:build !linux

package pack

// exchange is only atomic on Linux; elsewhere publish moves the old
// output aside first.
func exchange(a, b string) error { return errNoExchange }

// lockPeriod is a no-op off Linux.
func lockPeriod(parent, period string) (func(), error) { return func() {}, nil }
