// Command cutproxy is a TCP proxy on loopback that cuts connections: it
// forwards each accepted connection to -target and, once the client has
// sent -cut-after bytes towards the server, closes both sides. It stands in
// for a flaky link in scripts/bench/push.sh.
//
// It listens on and connects to loopback addresses only, prints
// "listening ADDR" as the first line on stdout, runs until SIGTERM or
// SIGINT, and then prints on stderr how many connections it cut.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "loopback address to listen on (port 0: any free port)")
	target := flag.String("target", "", "loopback host:port to forward to (required)")
	cutAfter := flag.Int64("cut-after", 0, "cut a connection once the client has sent this many bytes to the server (0: never cut)")
	cuts := flag.Int("cuts", -1, "cut only the first N connections (-1: every connection)")
	flag.Parse()
	if err := run(*listen, *target, *cutAfter, *cuts); err != nil {
		fmt.Fprintln(os.Stderr, "cutproxy:", err)
		os.Exit(1)
	}
}

// loopback checks that addr is host:port with a loopback IP literal; names
// are refused so that nothing is ever resolved to a non-loopback address.
func loopback(what, addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s %q: %v", what, addr, err)
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%s %q: only loopback IP addresses are allowed (e.g. 127.0.0.1)", what, addr)
	}
	return nil
}

func run(listen, target string, cutAfter int64, cuts int) error {
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	if target == "" {
		return errors.New("-target is required")
	}
	if cutAfter < 0 {
		return fmt.Errorf("-cut-after %d: must be >= 0", cutAfter)
	}
	if cuts < -1 {
		return fmt.Errorf("-cuts %d: must be >= -1", cuts)
	}
	if err := loopback("-listen", listen); err != nil {
		return err
	}
	if err := loopback("-target", target); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	if err := loopback("bound address", ln.Addr().String()); err != nil {
		ln.Close()
		return err
	}
	fmt.Printf("listening %s\n", ln.Addr())

	p := &proxy{target: target, cutAfter: cutAfter, cuts: cuts}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- p.serve(ln) }()
	select {
	case s := <-sig:
		ln.Close()
		p.closeAll()
		fmt.Fprintf(os.Stderr, "cutproxy: %v: %d connections, %d cut\n", s, p.accepted.Load(), p.cut.Load())
		return nil
	case err := <-done:
		p.closeAll()
		fmt.Fprintf(os.Stderr, "cutproxy: %d connections, %d cut\n", p.accepted.Load(), p.cut.Load())
		return err
	}
}

type proxy struct {
	target   string
	cutAfter int64
	cuts     int

	accepted atomic.Int64 // connections accepted
	cut      atomic.Int64 // connections cut

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (p *proxy) track(c net.Conn, add bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		p.conns = map[net.Conn]struct{}{}
	}
	if add {
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
}

func (p *proxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

func (p *proxy) serve(ln net.Listener) error {
	var tempDelay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				tempDelay = min(max(2*tempDelay, 5*time.Millisecond), time.Second)
				time.Sleep(tempDelay)
				continue
			}
			return err
		}
		tempDelay = 0
		n := p.accepted.Add(1) // 1-based index of this connection
		cut := p.cutAfter > 0 && (p.cuts < 0 || n <= int64(p.cuts))
		go p.handle(c, n, cut)
	}
}

// dialer refuses, at connect time, any address that is not loopback.
var dialer = net.Dialer{
	Timeout: 10 * time.Second,
	Control: func(network, address string, _ syscall.RawConn) error {
		return loopback("connect", address)
	},
}

func (p *proxy) handle(client net.Conn, n int64, cut bool) {
	p.track(client, true)
	defer p.track(client, false)
	defer client.Close()
	server, err := dialer.Dial("tcp", p.target)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cutproxy: connection %d: %v\n", n, err)
		return
	}
	p.track(server, true)
	defer p.track(server, false)
	defer server.Close()

	var once sync.Once
	closeBoth := func() { once.Do(func() { client.Close(); server.Close() }) }
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // server -> client, never cut
		defer wg.Done()
		_, err := io.Copy(client, server)
		if err == nil {
			closeWrite(client)
		} else {
			closeBoth()
		}
	}()

	// client -> server, cut after cutAfter bytes.
	if cut {
		_, err = io.CopyN(server, client, p.cutAfter)
		if err == nil {
			p.cut.Add(1)
			closeBoth()
			wg.Wait()
			return
		}
		if err == io.EOF { // the client finished before the cut
			err = nil
		}
	} else {
		_, err = io.Copy(server, client)
	}
	if err == nil {
		closeWrite(server)
	} else {
		closeBoth()
	}
	wg.Wait()
	closeBoth()
}

// closeWrite passes a half-close on (the peer read EOF).
func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
	} else {
		c.Close()
	}
}
