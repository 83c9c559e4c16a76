// Package demo sets up chama's end-to-end demo on one machine: a day of
// generated Hive partitions, a config that packs two interfaces (one flat,
// one split by province), and an in-process SFTP server on loopback that
// stands in for the file-exchange platform. Nothing leaves the machine.
package demo

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/chama-data/chama/internal/gen"
	"github.com/chama-data/chama/internal/sftpd"
)

// Options size the demo.
type Options struct {
	Dir  string // everything lives under it (default ./demo)
	Date string // the period generated (default 20241219)
	Rows int64  // rows over the day (default 240000)
	Seed int64
}

// Env is a prepared demo: data generated, server listening, config written.
type Env struct {
	Dir        string
	Date       string
	ConfigPath string
	Exchange   string // the folder the SFTP server serves
	Server     *sftpd.Server
	Gen        gen.Result
}

// Setup generates the data, starts the SFTP server and writes chama.yaml.
// Close the Env to stop the server.
func Setup(ctx context.Context, o Options) (*Env, error) {
	if o.Dir == "" {
		o.Dir = "demo"
	}
	if o.Date == "" {
		o.Date = "20241219"
	}
	if o.Rows == 0 {
		o.Rows = 240000
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	e := &Env{Dir: dir, Date: o.Date, ConfigPath: filepath.Join(dir, "chama.yaml"), Exchange: filepath.Join(dir, "exchange")}
	for _, d := range []string{"hive", "keys", "exchange/incoming/national", "exchange/incoming/province"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.Chmod(filepath.Join(dir, "keys"), 0o700); err != nil {
		return nil, err
	}

	g := gen.Defaults()
	g.Dir, g.Date, g.Rows, g.Seed, g.FilesPerHour = filepath.Join(dir, "hive"), o.Date, o.Rows, o.Seed, 2
	if e.Gen, err = gen.Run(ctx, g); err != nil {
		return nil, fmt.Errorf("demo: generating data: %w", err)
	}

	keyFile := filepath.Join(dir, "keys", "id_ed25519")
	pub, err := clientKey(keyFile)
	if err != nil {
		return nil, fmt.Errorf("demo: client key: %w", err)
	}
	e.Server, err = sftpd.Start(sftpd.Options{Root: e.Exchange, User: "chama", AuthorizedKeys: []ssh.PublicKey{pub}})
	if err != nil {
		return nil, fmt.Errorf("demo: starting the SFTP server: %w", err)
	}
	known := filepath.Join(dir, "keys", "known_hosts")
	if err := os.WriteFile(known, []byte(e.Server.KnownHostsLine()+"\n"), 0o644); err != nil {
		e.Close()
		return nil, err
	}
	cfg := fmt.Sprintf(configTemplate, e.Server.Host(), e.Server.Port(), gen.NumFields, gen.NumFields, gen.FieldProvince)
	if err := os.WriteFile(e.ConfigPath, []byte(cfg), 0o644); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// Close stops the SFTP server.
func (e *Env) Close() error {
	if e.Server == nil {
		return nil
	}
	return e.Server.Close()
}

// clientKey loads or creates the demo's ed25519 login key (mode 0600).
func clientKey(path string) (ssh.PublicKey, error) {
	if data, err := os.ReadFile(path); err == nil {
		s, err := ssh.ParsePrivateKey(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return s.PublicKey(), nil
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "chama demo")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	return ssh.NewPublicKey(pub)
}

// The demo config: 51007 as a flat national interface, CM001 split by
// province with the CM series' 3-then-4-digit sequence rule. Small
// lines_per_file values so a small day still makes several files.
const configTemplate = `# Written by 'chama demo'. A real site keeps the same shape with its own
# hosts; secrets are never written here, only paths to them.
workdir: work

sources:
  hive:
    type: file
    root: hive

targets:
  exchange:
    primary:
      - {host: %q, port: %d}
    user: chama
    auth:
      key_file: keys/id_ed25519
    known_hosts: keys/known_hosts
    connections_per_host: 2
    transfers_per_connection: 2
    timeout: 30s

interfaces:
  "51007":
    source: hive
    path: dt={date}/hour={hour}
    fields: %d
    lines_per_file: 50000
    embedded_delimiter: "replace: "
    routes: [{target: exchange, dir: /incoming/national}]
  CM001:
    source: hive
    path: dt={date}/hour={hour}
    fields: %d
    partition_field: %d
    lines_per_file: 5000
    embedded_delimiter: strip
    seq_width:
      - {from: "20000101", width: 3}
      - {from: "20241219", width: 4}
    routes: [{target: exchange, dir: /incoming/province}]
`

// Arrived lists the files on the exchange, relative to its root, with sizes.
func (e *Env) Arrived(w io.Writer) error {
	type row struct {
		path string
		size int64
	}
	var rows []row
	var total int64
	err := filepath.WalkDir(e.Exchange, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(e.Exchange, p)
		rows = append(rows, row{rel, info.Size()})
		total += info.Size()
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].path < rows[j].path })
	byDir := map[string]int{}
	verfs := 0
	for _, r := range rows {
		byDir[filepath.Dir(r.path)]++
		if strings.HasSuffix(r.path, ".verf") {
			verfs++
		}
	}
	fmt.Fprintf(w, "\nArrived on the exchange (%s), %d files, %d bytes, %d .verf:\n", e.Exchange, len(rows), total, verfs)
	shown := 0
	for _, r := range rows {
		if strings.HasPrefix(r.path, "incoming/province") && !strings.Contains(r.path, "_250_") {
			continue // one province is enough to show the naming
		}
		if shown < 40 {
			fmt.Fprintf(w, "  %-64s %10d\n", r.path, r.size)
		}
		shown++
	}
	if shown > 40 {
		fmt.Fprintf(w, "  ... %d more\n", shown-40)
	}
	dirs := make([]string, 0, len(byDir))
	for d := range byDir {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		fmt.Fprintf(w, "  %s: %d files\n", d, byDir[d])
	}
	return nil
}
