package sshconn

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/chama-data/chama/config"
)

// HostKeyError is a host key that does not match known_hosts, or a host
// known_hosts does not list. It is never retried.
type HostKeyError struct {
	Host       string
	KnownHosts string
	Got        string   // the server's key: type and SHA256 fingerprint
	Want       []string // what known_hosts holds for the host (file:line type fingerprint)
}

func (e *HostKeyError) Error() string {
	if len(e.Want) == 0 {
		return fmt.Sprintf("host %s is not in known_hosts %s (it offered %s); check the fingerprint with the platform's operators, then add it, e.g. ssh-keyscan -p PORT HOST >> %s",
			e.Host, e.KnownHosts, e.Got, e.KnownHosts)
	}
	return fmt.Sprintf("HOST KEY MISMATCH for %s: the server offered %s but known_hosts expects %s; refusing to connect (the host was re-keyed or this is not the host you think)",
		e.Host, e.Got, strings.Join(e.Want, ", "))
}

func describeKey(k ssh.PublicKey) string {
	return k.Type() + " " + ssh.FingerprintSHA256(k)
}

// hostKeyCheck returns the callback that verifies host keys for target t,
// and, per host, the key algorithms known_hosts holds so the server is
// asked for a key type we can check.
type hostKeyCheck struct {
	file     string
	insecure bool
	cb       ssh.HostKeyCallback
}

func newHostKeyCheck(t *config.Target) (*hostKeyCheck, error) {
	if t.InsecureIgnoreHostKey {
		return &hostKeyCheck{insecure: true}, nil
	}
	if t.KnownHosts == "" {
		return nil, errors.New("no known_hosts file configured (known_hosts)")
	}
	if _, err := os.Stat(t.KnownHosts); err != nil {
		return nil, fmt.Errorf("known_hosts %s: %w", t.KnownHosts, err)
	}
	cb, err := knownhosts.New(t.KnownHosts)
	if err != nil {
		return nil, fmt.Errorf("known_hosts %s: %w", t.KnownHosts, err)
	}
	return &hostKeyCheck{file: t.KnownHosts, cb: cb}, nil
}

func (h *hostKeyCheck) callback() ssh.HostKeyCallback {
	if h.insecure {
		return ssh.InsecureIgnoreHostKey()
	}
	return func(host string, remote net.Addr, key ssh.PublicKey) error {
		err := h.cb(host, remote, key)
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) {
			he := &HostKeyError{Host: host, KnownHosts: h.file, Got: describeKey(key)}
			for _, w := range ke.Want {
				he.Want = append(he.Want, fmt.Sprintf("%s (%s:%d)", describeKey(w.Key), w.Filename, w.Line))
			}
			return he
		}
		var re *knownhosts.RevokedError
		if errors.As(err, &re) {
			return fmt.Errorf("host %s offered a revoked key %s (%s:%d)", host, describeKey(key), re.Revoked.Filename, re.Revoked.Line)
		}
		return err
	}
}

// algorithms lists the host key algorithms known_hosts has for addr, so
// a server holding several keys shows the one we can verify.
func (h *hostKeyCheck) algorithms(addr string) []string {
	if h.insecure {
		return nil
	}
	// Ask the callback about a throwaway key: the KeyError lists what is
	// known for the host.
	probe := probeKey()
	remote := &net.TCPAddr{}
	if host, port, err := net.SplitHostPort(addr); err == nil {
		remote.IP = net.ParseIP(host)
		remote.Port, _ = strconv.Atoi(port)
	}
	err := h.cb(knownhosts.Normalize(addr), remote, probe)
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, w := range ke.Want {
		for _, a := range algosFor(w.Key.Type()) {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
}

func algosFor(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}

type fakeKey struct{}

func (fakeKey) Type() string                        { return "chama-probe" }
func (fakeKey) Marshal() []byte                     { return []byte("chama-probe") }
func (fakeKey) Verify([]byte, *ssh.Signature) error { return errors.New("probe") }

func probeKey() ssh.PublicKey { return fakeKey{} }
