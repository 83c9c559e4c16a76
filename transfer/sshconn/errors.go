package sshconn

import (
	"errors"
	"fmt"
	"os"

	"github.com/pkg/sftp"
)

// HostError is a failure that rules a host (or a whole target) out.
type HostError struct {
	Target string
	Host   string
	Err    error
}

func (e *HostError) Error() string {
	switch {
	case e.Host != "":
		return fmt.Sprintf("%s: %v", e.Host, e.Err)
	case e.Target != "":
		return fmt.Sprintf("target %s: %v", e.Target, e.Err)
	}
	return e.Err.Error()
}
func (e *HostError) Unwrap() error { return e.Err }

// ChecksumError is a remote md5 that could not be read or does not match.
type ChecksumError struct {
	Host, Path string
	Err        error
}

func (e *ChecksumError) Error() string { return fmt.Sprintf("%s: %s: %v", e.Host, e.Path, e.Err) }

// IsPermission reports whether err is a refusal by the local system or
// the SFTP server.
func IsPermission(err error) bool {
	if errors.Is(err, os.ErrPermission) {
		return true
	}
	var se *sftp.StatusError
	return errors.As(err, &se) && se.FxCode() == sftp.ErrSSHFxPermissionDenied
}
