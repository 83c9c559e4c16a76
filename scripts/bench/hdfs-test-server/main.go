// Command hdfs-test-server runs chama's HDFS test server (internal/hdfstest)
// on 127.0.0.1 over a local folder, for scripts/bench/pull.sh and manual
// tries. It writes the namenode addresses, comma separated, to --addr-file
// (or stdout) and serves until interrupted.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/chama-data/chama/internal/hdfstest"
)

func main() {
	root := flag.String("root", "", "backing folder (HDFS / is this folder)")
	namenodes := flag.Int("namenodes", 1, "namenodes to start")
	datanodes := flag.Int("datanodes", 2, "datanodes to start")
	blockSize := flag.Int64("block-size", 128<<20, "HDFS block size in bytes")
	addrFile := flag.String("addr-file", "", "write the namenode addresses here (default stdout)")
	flag.Parse()
	c, err := hdfstest.Start(hdfstest.Options{Root: *root, Namenodes: *namenodes, Datanodes: *datanodes, BlockSize: *blockSize})
	if err != nil {
		fmt.Fprintln(os.Stderr, "hdfs-test-server:", err)
		os.Exit(1)
	}
	addrs := strings.Join(c.Addrs(), ",")
	if *addrFile != "" {
		err := os.WriteFile(*addrFile+".tmp", []byte(addrs+"\n"), 0o644)
		if err == nil {
			err = os.Rename(*addrFile+".tmp", *addrFile)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "hdfs-test-server:", err)
			os.Exit(1)
		}
	} else {
		fmt.Println(addrs)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	c.Close()
}
