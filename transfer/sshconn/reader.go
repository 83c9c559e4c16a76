package sshconn

import (
	"context"
	"io"

	"github.com/pkg/sftp"
)

// ReadPacket is the SFTP read size for reading: 32 KiB, the size every
// SFTP server must serve. A server that answers a larger read with 32 KiB
// would otherwise be taken for the end of the file; throughput comes from
// the client's concurrent read requests, not from the packet size.
const ReadPacket = 32 << 10

// NewReader reads r (f, or a limited view of it) under a watchdog named
// what; Close closes f.
func (c *Conn) NewReader(ctx context.Context, what string, f *sftp.File, r io.Reader) *Reader {
	return &Reader{r: r, f: f, w: c.Watch(ctx, what)}
}

// Reader reads a remote file under the connection watchdog: a read that makes no
// progress within the target's timeout kills the connection.
type Reader struct {
	r io.Reader
	f *sftp.File
	w *Watch
}

func (r *Reader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.w.Touch()
	if err != nil && err != io.EOF {
		if k := r.w.c.KillReason(); k != nil {
			err = k
		}
	}
	return n, err
}

func (r *Reader) Close() error {
	r.w.End(nil)
	return r.f.Close()
}
