package config

// validateSecrets checks the keys that name secrets (*_env, *_file).
func validateSecrets(c *Config, bad func(key, format string, a ...any)) {}
