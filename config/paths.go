package config

import (
	"path"
	"strings"
)

// validatePaths checks paths that must stay inside their roots: an input
// path is read (and pull writes its copy) under the source root and the
// workdir, so it may not climb out of them.
func validatePaths(c *Config, bad func(key, format string, a ...any)) {
	check := func(key, p string) {
		if p == "" {
			return // reported where a path is required
		}
		if why := localPath(p); why != "" {
			bad(key, "%q %s: give a path relative to the source root, inside it", p, why)
		}
	}
	for _, name := range sortedKeys(c.Interfaces) {
		if i := c.Interfaces[name]; i != nil {
			check("interfaces."+name+".path", i.Path)
		}
	}
	if c.Transform != nil {
		for _, name := range sortedKeys(c.Transform.ODS) {
			if t := c.Transform.ODS[name]; t != nil {
				check("transform.ods."+name+".path", t.Path)
			}
		}
	}
}

// localPath says why p (slash-separated, with {date}/{hour} placeholders)
// is not a path inside its root, or "" when it is.
func localPath(p string) string {
	switch {
	case strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`):
		return "is absolute"
	case strings.ContainsRune(p, 0):
		return "holds a NUL byte"
	case strings.Contains(p, `\`):
		return `holds a backslash (use /)`
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return `climbs out with ".."`
		}
	}
	if c := path.Clean(p); c == "." {
		return "names the root itself"
	}
	return ""
}
