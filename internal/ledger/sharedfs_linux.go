package ledger

import "syscall"

// Network file systems, whose locks SQLite cannot trust (statfs f_type).
var networkFS = map[int64]string{
	0x6969:     "NFS",
	0xFF534D42: "CIFS/SMB",
	0xFE534D42: "SMB2",
	0x517B:     "SMB",
	0x65735546: "FUSE",
	0x47504653: "GPFS",
	0x0BD00BD0: "Lustre",
	0x00C36400: "CephFS",
}

// sharedFS names the network file system dir is on ("" for a local one).
func sharedFS(dir string) string {
	var st syscall.Statfs_t
	if syscall.Statfs(dir, &st) != nil {
		return ""
	}
	return networkFS[int64(st.Type)]
}
