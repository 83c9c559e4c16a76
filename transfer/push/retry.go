package push

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/pkg/sftp"

	"github.com/chama-data/chama/transfer/sshconn"
)

// class is what an error means for the delivery.
type class int

const (
	// classTransport: the connection failed (reset, EOF, timeout, lost).
	// Reconnect after a backoff and try again; counts toward marking the
	// host down.
	classTransport class = iota
	// classHost: this host cannot take files (auth, host key, permission,
	// missing folder). Fail the host at once; its files go elsewhere.
	classHost
	// classFile: this file failed on a healthy connection (server error
	// status, size or checksum mismatch). Retry the file.
	classFile
	// classConflict: the file must not be retried (a different final
	// file is already there).
	classConflict
	// classCancel: the run was cancelled.
	classCancel
	// classFenced: the job's lease is another machine's now: stop it.
	classFenced
)

func (c class) String() string {
	return [...]string{"transport", "host", "file", "conflict", "cancel", "fenced"}[c]
}

// FencedError is an upload stopped before its rename because the job's
// lease was taken over (or lost): nothing of it was published.
type FencedError struct{ Err error }

func (e *FencedError) Error() string { return "not published: " + e.Err.Error() }
func (e *FencedError) Unwrap() error { return e.Err }

// ConfigError is a target setting the host shows to be wrong (a
// remote_checksum whose shell cannot see the SFTP folders): the config
// must change, so push exits 2.
type ConfigError struct {
	Host, Key string
	Err       error
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("%s: %s: %v", e.Host, e.Key, e.Err)
}
func (e *ConfigError) Unwrap() error { return e.Err }

// LocalError is a problem with the local file (missing, changed since
// pack): no host can fix it.
type LocalError struct{ Err error }

func (e *LocalError) Error() string { return "local file: " + e.Err.Error() }
func (e *LocalError) Unwrap() error { return e.Err }

// MissingDirError is a remote folder that does not exist. Push never
// creates the delivery folder: a missing one is a config or platform
// problem that an operator must look at.
type MissingDirError struct{ Host, Dir string }

func (e *MissingDirError) Error() string {
	return fmt.Sprintf("%s: remote folder %s does not exist (push does not create it; check the route's dir)", e.Host, e.Dir)
}

// ExistsError is a final remote file that differs from the local one.
type ExistsError struct {
	Host, Path string
	Remote     int64
	Local      int64
	Why        string
}

func (e *ExistsError) Error() string {
	return fmt.Sprintf("%s: %s already exists and differs from the local file (%s; remote %d bytes, local %d); not overwriting: use --force, or re-pack with a new --resend",
		e.Host, e.Path, e.Why, e.Remote, e.Local)
}

// SizeError is an uploaded file whose remote size is not the local size.
type SizeError struct {
	Host, Path    string
	Remote, Local int64
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("%s: %s is %d bytes after upload, want %d", e.Host, e.Path, e.Remote, e.Local)
}

// classify decides what an error means.
func classify(err error) class {
	var (
		he  *sshconn.HostError
		ae  *sshconn.AuthError
		cfe *ConfigError
		hk  *sshconn.HostKeyError
		md  *MissingDirError
		ex  *ExistsError
		le  *LocalError
		sz  *SizeError
		ck  *sshconn.ChecksumError
		se  *sftp.StatusError
		ne  net.Error
		te  *sshconn.TimeoutError
		ser syscall.Errno
	)
	var fe *FencedError
	switch {
	case errors.As(err, &fe):
		return classFenced
	case errors.Is(err, context.Canceled):
		return classCancel
	case errors.Is(err, context.DeadlineExceeded) && !errors.As(err, new(*net.OpError)):
		// A network timeout can match context.DeadlineExceeded too (the
		// net package's dial timeout does): that one is transport
		// trouble, or a dead host would never be marked down.
		return classCancel
	case errors.As(err, &he), errors.As(err, &ae), errors.As(err, &hk), errors.As(err, &md), errors.As(err, &cfe):
		return classHost
	case errors.As(err, &ex), errors.As(err, &le):
		return classConflict
	case errors.As(err, &te):
		return classTransport
	case sshconn.IsPermission(err):
		return classHost
	case errors.As(err, &sz), errors.As(err, &ck):
		return classFile
	case errors.Is(err, sftp.ErrSSHFxConnectionLost), errors.Is(err, sftp.ErrSSHFxNoConnection),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return classTransport
	case errors.As(err, &se):
		switch se.FxCode() {
		case sftp.ErrSSHFxConnectionLost, sftp.ErrSSHFxNoConnection:
			return classTransport
		}
		return classFile
	case errors.As(err, &ne), errors.As(err, &ser):
		return classTransport
	case errors.Is(err, os.ErrNotExist):
		// A file that vanished between steps (someone else's cleanup).
		return classFile
	}
	// Unknown errors from the SSH layer are connection trouble.
	return classTransport
}
