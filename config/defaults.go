package config

// applyDefaults fills the unset keys of a source.
func (s *Source) applyDefaults() {
	if s.Ready == "" {
		s.Ready = "none"
		if s.Type == "hdfs" {
			s.Ready = "marker"
		}
	}
	if s.Marker == "" {
		s.Marker = "_SUCCESS"
	}
	if s.Concurrency == 0 {
		s.Concurrency = 8
	}
	s.applyHDFSDefaults()
}

// applyDefaults fills the unset keys of a target.
func (t *Target) applyDefaults() {
	defaultPorts(t.Primary)
	defaultPorts(t.Standby)
	if t.ConnectionsPerHost == 0 {
		t.ConnectionsPerHost = 4
	}
	if t.TransfersPerConnection == 0 {
		t.TransfersPerConnection = 2
	}
	if t.Timeout == 0 {
		t.Timeout = Duration(60e9)
	}
	if t.Retries == 0 {
		t.Retries = 5
	}
	if t.DownAfter == 0 {
		t.DownAfter = 3
	}
	if t.CoolOff == 0 {
		t.CoolOff = Duration(300e9)
	}
	if t.PartSuffix == "" {
		t.PartSuffix = ".part"
	}
}

// defaultPorts gives SSH's port 22 to the endpoints without one.
func defaultPorts(es []Endpoint) {
	for i := range es {
		if es[i].Port == 0 {
			es[i].Port = 22
		}
	}
}

// applyDefaults fills the unset keys of an interface. Its name and, for
// from: transform, its ADS partition are set before (Config.applyDefaults):
// the default names depend on whether it is partitioned.
func (i *Interface) applyDefaults() {
	if i.Format == "" {
		i.Format = "text"
	}
	if i.Delimiter == "" {
		i.Delimiter = "\x01"
	}
	if i.OutDelimiter == "" {
		i.OutDelimiter = "|"
	}
	if i.EmbeddedDelimiter == "" {
		i.EmbeddedDelimiter = "fail"
	}
	if i.Charset == "" {
		i.Charset = "utf-8"
	}
	if i.LinesPerFile == 0 {
		i.LinesPerFile = DefaultLinesPerFile
	}
	if i.GzipLevel == 0 {
		i.GzipLevel = DefaultGzipLevel
	}
	if i.FileName == "" {
		i.FileName = DefaultFileName
		if !i.Partitioned() {
			i.FileName = DefaultFileNameFlat
		}
	}
	if i.VerfName == "" {
		i.VerfName = DefaultVerfName
		if !i.Partitioned() {
			i.VerfName = DefaultVerfNameFlat
		}
	}
	if len(i.VerfColumns) == 0 {
		i.VerfColumns = DefaultVerfColumns
	}
	if i.Granularity == "" {
		i.Granularity = "day"
	}
}
