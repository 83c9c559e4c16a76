package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/exit"
)

// NewCmdConfig is `chama config`, the config's subcommands.
func NewCmdConfig(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Inspect the configuration"}
	cmd.AddCommand(NewCmdConfigValidate(f, nil))
	return cmd
}

// ConfigValidateOptions are `chama config validate`'s (it has no flags
// of its own: --config is global).
type ConfigValidateOptions struct {
	Factory *Factory
}

// NewCmdConfigValidate is `chama config validate`; runF, when not nil,
// runs instead of runConfigValidate.
func NewCmdConfigValidate(f *Factory, runF func(context.Context, *ConfigValidateOptions) error) *cobra.Command {
	opts := &ConfigValidateOptions{Factory: f}
	return &cobra.Command{
		Use:   "validate",
		Short: "Load the config and report every problem with its key path",
		Long: `validate loads the config (--config, else $CHAMA_CONFIG, else ./chama.yaml)
and reports every problem at once, each with its key path, e.g.
  interfaces.51007.lines_per_file: must be at least 1
Unknown keys are errors (with the nearest known key), not silently ignored.
It also checks what can be checked without the network: every secret file
(key, passphrase, password, mobile key, Kerberos keytab) exists and has no
group or other permissions, known_hosts and the IP database exist, each
file source's root is a folder, and each *_env key names a variable rather
than holding the secret (docs/security.md). On success it prints
  config chama.yaml is valid: 3 interfaces (51006, 51007, CM001)

Exit codes: 0 valid; 2 the file is missing or has problems.`,
		Example: `  chama config validate
  chama --config /etc/chama/chama.yaml config validate`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runConfigValidate(cmd.Context(), opts)
		},
	}
}

func runConfigValidate(_ context.Context, opts *ConfigValidateOptions) error {
	f := opts.Factory
	c, err := f.Config()
	if err != nil {
		return err
	}
	if err := config.CheckFiles(c); err != nil {
		return exit.With(exit.Usage, fmt.Errorf("config %s: %w", c.Path(), err))
	}
	fmt.Fprintf(f.Stdout, "config %s is valid: %d interfaces (%s)\n", c.Path(), len(c.Interfaces), strings.Join(c.InterfaceNames(), ", "))
	return nil
}
