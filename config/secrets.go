package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
)

// Secrets are never in chama.yaml: a *_env key names the environment
// variable that holds one, a *_file key (and kerberos.keytab) the file.
// Validate checks the names (validateSecrets); CheckFiles checks, without
// the network, the local files a loaded config names. docs/security.md
// describes both.

// envName is what a *_env key may hold: the name of a variable, which a
// pasted password, passphrase, DSN or hex key never is.
var envName = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)

// IsEnvName reports whether s is usable as the value of a *_env key: an
// environment variable name of A-Z, 0-9 and _, not starting with a digit.
func IsEnvName(s string) bool { return envName.MatchString(s) }

// EnvNameProblem is the problem of a *_env key whose value is not a
// variable name. The value is most likely the secret itself, so it is
// never part of the message (nor of any message that names the key).
const EnvNameProblem = "must name an environment variable (A-Z, 0-9, _), not hold the secret itself; the value was not printed"

// BadEnvName is the error for key (a key path such as
// targets.plat.auth.password_env) holding something other than a name.
func BadEnvName(key string) error { return errors.New(key + ": " + EnvNameProblem) }

// EnvKey is one *_env key of a config: its key path and value.
type EnvKey struct{ Key, Value string }

// EnvKeys lists every *_env key that is set, in a stable order.
func (c *Config) EnvKeys() []EnvKey {
	var ks []EnvKey
	add := func(key, v string) {
		if v != "" {
			ks = append(ks, EnvKey{key, v})
		}
	}
	add("ledger.dsn_env", c.Ledger.DSNEnv)
	for _, name := range sortedKeys(c.Targets) {
		if t := c.Targets[name]; t != nil {
			add("targets."+name+".auth.passphrase_env", t.Auth.PassphraseEnv)
			add("targets."+name+".auth.password_env", t.Auth.PasswordEnv)
		}
	}
	if c.Transform != nil {
		add("transform.mobile_key_env", c.Transform.MobileKeyEnv)
	}
	return ks
}

// validateSecrets checks the keys that name secrets (*_env, *_file). The
// files themselves are looked at by CheckFiles: Parse runs before the
// paths are resolved against the config file's folder, and a config is
// also loaded where its files are not (chama status, a laptop).
func validateSecrets(c *Config, bad func(key, format string, a ...any)) {
	for _, k := range c.EnvKeys() {
		if !IsEnvName(k.Value) {
			bad(k.Key, "%s", EnvNameProblem)
		}
	}
}

// FileScope selects what CheckFilesFor looks at.
type FileScope uint8

const (
	// ScopeSources: the sources the interfaces read (and their
	// fallbacks; for a transform interface, its ODS tables' sources): a
	// file source's root, the kerberos keytab and krb5.conf, and an sftp
	// source's target files.
	ScopeSources FileScope = 1 << iota
	// ScopeTransform: transform.mobile_key_file and transform.ip_db, when
	// an interface is from: transform or has a transform.ads entry.
	ScopeTransform
	// ScopeTargets: the routes' targets: key, passphrase and password
	// files and known_hosts.
	ScopeTargets
	// ScopeAll is all of them.
	ScopeAll = ScopeSources | ScopeTransform | ScopeTargets
)

// CheckFiles checks every local file and folder the config names, without
// the network, and reports every problem with its key path (*Problems):
//
//   - a secret file (auth.key_file, auth.passphrase_file,
//     auth.password_file, transform.mobile_key_file, kerberos.keytab)
//     exists, is a regular file, can be read and has no group or other
//     permission bits (mode & 0o077 == 0, e.g. 0600 or 0400);
//   - known_hosts exists, is a regular file and is not writable by group
//     or others (whoever can write it can add a host key);
//   - kerberos.krb5_conf and transform.ip_db exist and are regular files;
//   - a file source's root exists and is a folder.
//
// No message holds a file's content. Load does not call it: `chama config
// validate` does, and a stage calls CheckFilesFor with what it uses.
func CheckFiles(c *Config) error {
	return c.checkFiles(sortedKeys(c.Sources), sortedKeys(c.Targets), c.Transform != nil)
}

// CheckFilesFor is CheckFiles narrowed to what a stage uses for the
// interfaces ifs (nil: every interface): see FileScope.
func CheckFilesFor(c *Config, ifs []*Interface, scope FileScope) error {
	if ifs == nil {
		for _, n := range c.InterfaceNames() {
			ifs = append(ifs, c.Interfaces[n])
		}
	}
	sources, targets := map[string]bool{}, map[string]bool{}
	var addSource func(string)
	addSource = func(name string) {
		s, ok := c.Sources[name]
		if !ok || sources[name] {
			return
		}
		sources[name] = true
		if s == nil {
			return
		}
		if s.Type == "sftp" && s.HDFS.Target != "" {
			targets[s.HDFS.Target] = true
		}
		if s.Fallback != "" {
			addSource(s.Fallback)
		}
	}
	if scope&ScopeSources != 0 {
		for _, i := range ifs {
			if i == nil {
				continue
			}
			if i.From == "" {
				addSource(i.Source)
				continue
			}
			if o := c.odsOf(i.Name); o != nil {
				addSource(o.Source)
			}
		}
	}
	if scope&ScopeTargets != 0 {
		for _, i := range ifs {
			if i == nil {
				continue
			}
			for _, r := range i.Routes {
				targets[r.Target] = true
			}
		}
	}
	transform := false
	if t := c.Transform; t != nil && scope&ScopeTransform != 0 {
		for _, i := range ifs {
			if i != nil && (i.From != "" || t.ADS[i.Name] != nil) {
				transform = true
			}
		}
	}
	return c.checkFiles(sortedKeys(sources), sortedKeys(targets), transform)
}

// odsOf is the ODS table a transform interface's rows come from (ADS ->
// DWD -> ODS), nil when the spec does not say.
func (c *Config) odsOf(iface string) *ODSTable {
	t := c.Transform
	if t == nil {
		return nil
	}
	a := t.ADS[iface]
	if a == nil {
		return nil
	}
	d := t.DWD[a.From]
	if d == nil {
		return nil
	}
	return t.ODS[d.From]
}

func (c *Config) checkFiles(sources, targets []string, transform bool) error {
	var ps []string
	bad := func(key string, err error) {
		if err != nil {
			ps = append(ps, key+": "+err.Error())
		}
	}
	for _, name := range sources {
		s, key := c.Sources[name], "sources."+name
		if s == nil {
			continue
		}
		if s.Type == "file" && s.Root != "" {
			bad(key+".root", checkDir(s.Root))
		}
		if k := s.HDFS.Kerberos; s.Type == "hdfs" && k != nil {
			if k.Keytab != "" {
				bad(key+".kerberos.keytab", CheckSecretFile(k.Keytab))
			}
			if k.Krb5Conf != "" {
				bad(key+".kerberos.krb5_conf", checkFile(k.Krb5Conf))
			}
		}
		if s.Type == "hdfs" {
			// The Hadoop conf dir and the ticket cache, as the stage will
			// read them (HDFSClientConfig).
			cc, err := s.HDFSClientConfig(name)
			var pr *Problems
			switch {
			case errors.As(err, &pr):
				ps = append(ps, pr.List...)
			case err != nil:
				ps = append(ps, err.Error())
			case cc.Kerberos != nil && cc.Kerberos.CCache != "":
				bad(key+".kerberos.ccache", CheckSecretFile(cc.Kerberos.CCache))
			}
		}
	}
	for _, name := range targets {
		t, key := c.Targets[name], "targets."+name
		if t == nil {
			continue
		}
		for _, f := range []struct{ k, path string }{
			{"auth.key_file", t.Auth.KeyFile},
			{"auth.passphrase_file", t.Auth.PassphraseFile},
			{"auth.password_file", t.Auth.PasswordFile},
		} {
			if f.path != "" {
				bad(key+"."+f.k, CheckSecretFile(f.path))
			}
		}
		if t.KnownHosts != "" {
			bad(key+".known_hosts", checkKnownHosts(t.KnownHosts))
		}
	}
	if t := c.Transform; transform && t != nil {
		if t.MobileKeyFile != "" {
			bad("transform.mobile_key_file", CheckSecretFile(t.MobileKeyFile))
		}
		if t.IPDB != "" {
			bad("transform.ip_db", checkFile(t.IPDB))
		}
	}
	if len(ps) > 0 {
		return &Problems{List: ps}
	}
	return nil
}

// CheckSecretFile checks a file holding a secret: it exists, is a regular
// file (symbolic links are followed), can be opened for reading and has
// no group or other permission bits, the way ssh refuses an unprotected
// private key. The error names the path and the mode, never the content.
func CheckSecretFile(path string) error {
	st, err := statFile(path)
	if err != nil {
		return err
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%s has mode %04o: group or others can access it; run chmod 600 %s", path, perm, path)
	}
	return canRead(path)
}

func checkKnownHosts(path string) error {
	st, err := statFile(path)
	if err != nil {
		return err
	}
	if perm := st.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("%s has mode %04o: group or others can write it, and so add a host key; run chmod go-w %s", path, perm, path)
	}
	return canRead(path)
}

func checkFile(path string) error {
	if _, err := statFile(path); err != nil {
		return err
	}
	return canRead(path)
}

func statFile(path string) (fs.FileInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, statError(path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	return st, nil
}

func checkDir(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return statError(path, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a folder", path)
	}
	return nil
}

func statError(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s does not exist", path)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s cannot be reached: permission denied", path)
	}
	return err // *PathError: names the path and the cause, no content
}

// canRead opens the file and closes it, reading nothing.
func canRead(path string) error {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("%s cannot be read: permission denied", path)
		}
		return err
	}
	return f.Close()
}
