package config

// validateRetention checks retention_days (chama clean).
func validateRetention(c *Config, bad func(key, format string, a ...any)) {
	if c.RetentionDays < 1 {
		bad("retention_days", "must be at least 1")
	}
}
