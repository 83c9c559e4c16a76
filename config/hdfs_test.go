package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHDFSSourceDefaultsAndKerberosPaths(t *testing.T) {
	dir := t.TempDir()
	y := `workdir: w
sources:
  nn:
    type: hdfs
    namenodes: ["nn1.example:8020", "nn2.example:8020"]
    root: /user/hive/warehouse
    concurrency: 16
    kerberos:
      keytab: etc/etl.keytab
      principal: etl/host1@EXAMPLE.COM
      service_principal: nn/_HOST
    data_transfer_protection: privacy
interfaces:
  "51007": {source: nn, path: "ods/dt={date}/hour={hour}"}
`
	p := filepath.Join(dir, "chama.yaml")
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Sources["nn"]
	if s.Root != "/user/hive/warehouse" {
		t.Errorf("an hdfs root was resolved as a local path: %s", s.Root)
	}
	h := s.HDFS
	if h.Clients != 4 || h.Retries != DefaultHDFSRetries || h.Timeout.D().Seconds() != 60 || h.SplitAbove != DefaultHDFSSplitAbove || s.Ready != "marker" {
		t.Errorf("defaults: %+v ready %s", h, s.Ready)
	}
	if h.Kerberos.Keytab != filepath.Join(dir, "etc", "etl.keytab") || h.Kerberos.Krb5Conf != "/etc/krb5.conf" {
		t.Errorf("kerberos paths: %+v", h.Kerberos)
	}
}

func TestHDFSSourceValidation(t *testing.T) {
	t.Setenv("HADOOP_CONF_DIR", "") // else a user may come from its Kerberos settings
	y := `
sources:
  nn:
    type: hdfs
    namenodes: ["nn1.example"]
    root: relative/path
    kerberos:
      principal: etl
      service_principal: nn/_HOST@EXAMPLE.COM
    data_transfer_protection: secret
  nn2:
    type: hdfs
    namenodes: ["nn1.example:8020"]
  local:
    type: file
    root: /data
    use_datanode_hostname: true
interfaces:
  "51007": {source: nn, path: "ods/dt={date}"}
`
	_, err := Parse([]byte(y))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		`sources.nn.namenodes[0]: "nn1.example" is not host:port`,
		`sources.nn.root: an hdfs root is an absolute HDFS path`,
		`sources.nn.kerberos.principal: want user@REALM`,
		`sources.nn.kerberos.service_principal: give it without the realm`,
		`sources.nn.data_transfer_protection: "secret" is not`,
		`sources.nn2.user: an hdfs source needs a user (or kerberos)`,
		`sources.local: kerberos, data_transfer_protection and use_datanode_hostname are for type: hdfs`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}
