package config

// validatePaths checks paths that must stay inside their roots.
func validatePaths(c *Config, bad func(key, format string, a ...any)) {}
