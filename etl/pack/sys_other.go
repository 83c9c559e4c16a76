//go:build !linux

package pack

// exchange is only atomic on Linux; elsewhere publish moves the old
// output aside first.
func exchange(a, b string) error { return errNoExchange }
