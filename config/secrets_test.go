package config

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// The values a careless operator pastes into *_env keys. None of them may
// ever appear in a message.
var pastedSecrets = []string{"Hunter2Secret!", "correct horse battery", "postgres://chama:Pg@ss@db.example/ledger", "00112233445566778899aabbccddeeff"}

const envSecretsYAML = `
ledger:
  driver: postgres
  dsn_env: "postgres://chama:Pg@ss@db.example/ledger"
sources:
  local: {type: file, root: /data}
targets:
  plat:
    primary: [{host: plat.example}]
    user: chama
    auth:
      key_file: /etc/chama/id_plat
      passphrase_env: "correct horse battery"
      password_env: "Hunter2Secret!"
    known_hosts: /etc/chama/known_hosts
    dir: /in
interfaces:
  "51007": {source: local, path: "ods/dt={date}/hour={hour}", routes: [{target: plat}]}
transform:
  mobile_key_env: "00112233445566778899aabbccddeeff"
  ods:
    events:
      source: local
      path: ods/events/dt={date}/hour={hour}
      columns: {event_id: string}
`

// A secret pasted into a *_env key is refused at load, and the refusal
// names the key without echoing the value.
func TestEnvKeysMustNameAVariable(t *testing.T) {
	_, err := Parse([]byte(envSecretsYAML))
	if err == nil {
		t.Fatal("a config holding secrets in its *_env keys was accepted")
	}
	msg := err.Error()
	const why = ": must name an environment variable (A-Z, 0-9, _), not hold the secret itself; the value was not printed"
	for _, key := range []string{"ledger.dsn_env", "targets.plat.auth.passphrase_env", "targets.plat.auth.password_env", "transform.mobile_key_env"} {
		if !strings.Contains(msg, key+why) {
			t.Errorf("no %q in\n%s", key+why, msg)
		}
	}
	for _, s := range append(pastedSecrets, "Hunter2", "Pg@ss", "horse") {
		if strings.Contains(msg, s) {
			t.Errorf("the error echoes the secret %q:\n%s", s, msg)
		}
	}
}

func TestEnvNames(t *testing.T) {
	for _, s := range []string{"CHAMA_KEY_PASS", "_X", "A1", "PGPASSWORD", "X"} {
		if !IsEnvName(s) {
			t.Errorf("%q refused", s)
		}
	}
	for _, s := range []string{"", "1A", "chama_pw", "A-B", "A B", "$A", "Hunter2Secret!", "A=B", "A\n"} {
		if IsEnvName(s) {
			t.Errorf("%q accepted as a variable name", s)
		}
	}
	// Names that are valid load.
	y := strings.NewReplacer(`"postgres://chama:Pg@ss@db.example/ledger"`, "CHAMA_LEDGER_DSN",
		`"correct horse battery"`, "CHAMA_KEY_PASS", `"Hunter2Secret!"`, "CHAMA_SFTP_PW",
		`"00112233445566778899aabbccddeeff"`, "CHAMA_MOBILE_KEY").Replace(envSecretsYAML)
	if _, err := Parse([]byte(y)); err != nil && strings.Contains(err.Error(), "_env") {
		t.Errorf("valid names refused: %v", err)
	}
}

// Every *_env key of the config is one the test above covers: a new
// one must be added to envKeys (secrets.go) and to envSecretsYAML.
func TestEveryEnvKeyIsChecked(t *testing.T) {
	var found []string
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if strings.HasSuffix(name, "_env") {
				found = append(found, t.Name()+"."+name)
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeOf(Config{}))
	sort.Strings(found)
	want := "Auth.passphrase_env,Auth.password_env,Ledger.dsn_env,Transform.mobile_key_env"
	if got := strings.Join(found, ","); got != want {
		t.Errorf("*_env keys %s, the checks cover %s", got, want)
	}
}

func writeFile(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte("Hunter2Secret!\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

const filesYAML = `workdir: w
sources:
  local: {type: file, root: data}
  nn:
    type: hdfs
    namenodes: ["nn1.example:8020"]
    root: /warehouse
    kerberos:
      keytab: etl.keytab
      krb5_conf: krb5.conf
      principal: etl@EXAMPLE.COM
      service_principal: nn/_HOST
  gw: {type: sftp, target: relay, root: /data}
targets:
  plat:
    primary: [{host: plat.example}]
    user: chama
    auth: {key_file: id_plat, passphrase_file: plat.pass}
    known_hosts: known_hosts
    dir: /in
  relay:
    primary: [{host: relay.example}]
    user: chama
    auth: {password_file: relay.pw}
    known_hosts: relay_known_hosts
interfaces:
  "51007": {source: local, path: "ods/dt={date}/hour={hour}", routes: [{target: plat}]}
  "51008": {source: nn, path: "ods/dt={date}/hour={hour}", routes: [{target: plat}]}
  "51009": {source: gw, path: "ods/dt={date}/hour={hour}", routes: [{target: plat}]}
  "51010": {from: transform, routes: [{target: plat}]}
transform:
  mobile_key_file: mobile.key
  ip_db: ip.xdb
  ods:
    events:
      source: local
      path: ods/events/dt={date}/hour={hour}
      columns: {event_id: string}
  dwd:
    events: {from: events}
  ads:
    "51010":
      from: events
      columns: {event_id: event_id}
`

func loadFiles(t *testing.T, dir string) *Config {
	t.Helper()
	p := filepath.Join(dir, "chama.yaml")
	if err := os.WriteFile(p, []byte(filesYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	// Load does not look at the files: a config loads wherever it is
	// read (and Parse runs before relative paths are resolved).
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// goodFiles creates every file the fixture names, as it should be.
func goodFiles(t *testing.T, dir string) {
	t.Helper()
	for _, f := range []string{"etl.keytab", "id_plat", "plat.pass", "relay.pw", "mobile.key"} {
		writeFile(t, filepath.Join(dir, f), 0o600)
	}
	for _, f := range []string{"krb5.conf", "known_hosts", "relay_known_hosts", "ip.xdb"} {
		writeFile(t, filepath.Join(dir, f), 0o644)
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestCheckFilesAcceptsAProperSetup(t *testing.T) {
	dir := t.TempDir()
	goodFiles(t, dir)
	c := loadFiles(t, dir)
	if err := CheckFiles(c); err != nil {
		t.Fatal(err)
	}
	if err := CheckFilesFor(c, nil, ScopeAll); err != nil {
		t.Fatal(err)
	}
}

// The local files a config names are checked without the network: a
// secret file must exist, be a regular file and be closed to group and
// others; known_hosts, krb5.conf, the ip database and a file source's
// root must exist. Every problem is reported with its key path, and no
// file's content is ever shown.
func TestCheckFilesReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	goodFiles(t, dir)
	writeFile(t, filepath.Join(dir, "id_plat"), 0o644)
	writeFile(t, filepath.Join(dir, "mobile.key"), 0o644)
	writeFile(t, filepath.Join(dir, "etl.keytab"), 0o640)
	writeFile(t, filepath.Join(dir, "relay_known_hosts"), 0o666)
	for _, f := range []string{"plat.pass", "known_hosts", "krb5.conf", "ip.xdb"} {
		os.Remove(filepath.Join(dir, f))
	}
	os.Remove(filepath.Join(dir, "relay.pw"))
	os.Mkdir(filepath.Join(dir, "relay.pw"), 0o700)
	os.RemoveAll(filepath.Join(dir, "data"))
	c := loadFiles(t, dir)
	err := CheckFiles(c)
	if err == nil {
		t.Fatal("CheckFiles passed a 0644 key file, a 0644 mobile key, a 0640 keytab, missing files and a missing source root")
	}
	msg := err.Error()
	for _, want := range []string{
		"targets.plat.auth.key_file: " + filepath.Join(dir, "id_plat") + " has mode 0644: group or others can access it; run chmod 600 " + filepath.Join(dir, "id_plat"),
		"targets.plat.auth.passphrase_file: " + filepath.Join(dir, "plat.pass") + " does not exist",
		"targets.plat.known_hosts: " + filepath.Join(dir, "known_hosts") + " does not exist",
		"targets.relay.auth.password_file: " + filepath.Join(dir, "relay.pw") + " is not a regular file",
		"targets.relay.known_hosts: " + filepath.Join(dir, "relay_known_hosts") + " has mode 0666: group or others can write it",
		"transform.mobile_key_file: " + filepath.Join(dir, "mobile.key") + " has mode 0644",
		"transform.ip_db: " + filepath.Join(dir, "ip.xdb") + " does not exist",
		"sources.nn.kerberos.keytab: " + filepath.Join(dir, "etl.keytab") + " has mode 0640",
		"sources.nn.kerberos.krb5_conf: " + filepath.Join(dir, "krb5.conf") + " does not exist",
		"sources.local.root: " + filepath.Join(dir, "data") + " does not exist",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("no %q in\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "Hunter2") {
		t.Errorf("a file's content is shown:\n%s", msg)
	}
	if pe, ok := err.(*Problems); !ok || len(pe.List) != 10 {
		t.Errorf("want 10 problems, got %#v", err)
	}
}

// A stage checks only what it uses: pull the sources (an sftp relay's
// target among them), push the routes' targets, transform (and pack of a
// from: transform interface) the key and database.
func TestCheckFilesForScopes(t *testing.T) {
	dir := t.TempDir()
	goodFiles(t, dir)
	writeFile(t, filepath.Join(dir, "id_plat"), 0o644)    // push target
	writeFile(t, filepath.Join(dir, "relay.pw"), 0o644)   // the sftp source's target
	writeFile(t, filepath.Join(dir, "mobile.key"), 0o604) // transform
	c := loadFiles(t, dir)
	sel := func(names ...string) []*Interface {
		var out []*Interface
		for _, n := range names {
			out = append(out, c.Interfaces[n])
		}
		return out
	}
	cases := []struct {
		ifs       []*Interface
		scope     FileScope
		want, not []string
	}{
		{sel("51007"), ScopeSources, nil, []string{"targets.", "transform."}},
		{sel("51009"), ScopeSources, []string{"targets.relay.auth.password_file"}, []string{"targets.plat", "transform."}},
		{sel("51007"), ScopeTargets, []string{"targets.plat.auth.key_file"}, []string{"targets.relay", "transform."}},
		{sel("51010"), ScopeTransform, []string{"transform.mobile_key_file"}, []string{"targets."}},
		{sel("51007"), ScopeTransform, nil, []string{"transform."}}, // no transform behind it
		{sel("51010"), ScopeSources, nil, []string{"targets.", "transform."}},
		{nil, ScopeAll, []string{"targets.plat.auth.key_file", "targets.relay.auth.password_file", "transform.mobile_key_file"}, nil},
	}
	for i, tc := range cases {
		err := CheckFilesFor(c, tc.ifs, tc.scope)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if len(tc.want) == 0 && err != nil {
			t.Errorf("case %d: %v", i, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("case %d: no %q in %q", i, w, msg)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(msg, n) {
				t.Errorf("case %d: %q out of scope in %q", i, n, msg)
			}
		}
	}
	// A transform interface's sources are its ODS tables' sources.
	os.RemoveAll(filepath.Join(dir, "data"))
	if err := CheckFilesFor(c, sel("51010"), ScopeSources); err == nil || !strings.Contains(err.Error(), "sources.local.root") {
		t.Errorf("a transform interface's ODS source root was not checked: %v", err)
	}
}
