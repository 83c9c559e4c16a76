package config

// MaxRetentionDays is the longest retention chama clean accepts: ten
// years. Longer values once overflowed the cutoff into the future and
// deleted everything; a site that never wants its files cleaned does not
// schedule chama clean.
const MaxRetentionDays = 3650

// validateRetention checks retention_days (chama clean): 1 to
// MaxRetentionDays; 0 (absent) was already given the default 15.
func validateRetention(c *Config, bad func(key, format string, a ...any)) {
	switch {
	case c.RetentionDays < 1:
		bad("retention_days", "must be at least 1")
	case c.RetentionDays > MaxRetentionDays:
		bad("retention_days", "must be at most %d (ten years); to never clean, do not schedule chama clean", MaxRetentionDays)
	}
}
